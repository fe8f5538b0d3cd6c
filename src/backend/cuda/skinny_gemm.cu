// out[T, N] = x[T, K] @ w[N, K]^T for decode-sized T (1..8): a memory-bound pass over the weights
// with 16-byte loads, each warp owning two output rows and all T tokens, so every weight byte is
// read once. cuBLASLt's kernels for such thin shapes leave bandwidth unused.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace turbine::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kRowsPerWarp = 2;

template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float* f) {
  const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int e = 0; e < 8; ++e) f[e] = to_float(h[e]);
}

template <typename T, typename O, int Tokens>
__global__ void __launch_bounds__(kWarps * 32)
    skinny_gemm_kernel(const T* __restrict__ x, const T* __restrict__ w, O* __restrict__ out, int tokens, int n,
                       int k) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int row0 = (blockIdx.x * kWarps + warp) * kRowsPerWarp;
  if (row0 >= n) return;
  const int chunks = k / 8;
  float acc[kRowsPerWarp][Tokens];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int t = 0; t < Tokens; ++t) acc[r][t] = 0.0f;
  const uint4* wr[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
    wr[r] = reinterpret_cast<const uint4*>(w + size_t(min(row0 + r, n - 1)) * k);
  for (int c = lane; c < chunks; c += 32) {
    uint4 wraw[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) wraw[r] = __ldcs(wr[r] + c);  // streamed once: skip L1 residency
    float wf[kRowsPerWarp][8];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) unpack8<T>(wraw[r], wf[r]);
#pragma unroll
    for (int t = 0; t < Tokens; ++t) {
      if (t >= tokens) break;
      float xf[8];
      unpack8<T>(__ldg(reinterpret_cast<const uint4*>(x + size_t(t) * k) + c), xf);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[r][t] += wf[r][e] * xf[e];
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int t = 0; t < Tokens; ++t) {
      if (t >= tokens) break;
      const float v = warp_sum(acc[r][t]);
      if (lane == 0 && row0 + r < n) out[size_t(t) * n + row0 + r] = from_float<O>(v);
    }
}

template <typename T, typename O>
void launch_typed(const void* x, const void* w, void* out, int tokens, int n, int k, cudaStream_t stream) {
  const unsigned blocks = unsigned((n + kWarps * kRowsPerWarp - 1) / (kWarps * kRowsPerWarp));
  const auto* xt = static_cast<const T*>(x);
  const auto* wt = static_cast<const T*>(w);
  auto* o = static_cast<O*>(out);
  if (tokens <= 1)
    skinny_gemm_kernel<T, O, 1><<<blocks, kWarps * 32, 0, stream>>>(xt, wt, o, tokens, n, k);
  else if (tokens <= 2)
    skinny_gemm_kernel<T, O, 2><<<blocks, kWarps * 32, 0, stream>>>(xt, wt, o, tokens, n, k);
  else if (tokens <= 4)
    skinny_gemm_kernel<T, O, 4><<<blocks, kWarps * 32, 0, stream>>>(xt, wt, o, tokens, n, k);
  else
    skinny_gemm_kernel<T, O, 8><<<blocks, kWarps * 32, 0, stream>>>(xt, wt, o, tokens, n, k);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace

bool launch_skinny_gemm(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                        int k, cudaStream_t stream) {
  const bool aligned = k % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (tokens < 1 || tokens > kSkinnyGemmMaxTokens || !aligned || in_dtype == DType::F32) return false;
  if (out_dtype == DType::F32)
    TURBINE_DISPATCH_HALF(in_dtype, launch_typed<T, float>(x, w, out, tokens, n, k, stream));
  else if (out_dtype == in_dtype)
    TURBINE_DISPATCH_HALF(in_dtype, launch_typed<T, T>(x, w, out, tokens, n, k, stream));
  else
    return false;
  return true;
}

}  // namespace turbine::cuda
