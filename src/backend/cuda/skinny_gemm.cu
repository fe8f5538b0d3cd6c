// out[T, N] = x[T, K] @ w[N, K]^T for T of 1 or 2: a memory-bound pass over the weights.
// A block owns kRows output rows for all T tokens and splits K over its 256 threads; each thread
// keeps kRows * kUnroll independent 16-byte weight loads in flight (streamed past L1), reads x
// through L1 (it is small and shared by every block), and the per-thread sums meet in one
// shuffle + shared-memory reduction at the end. cuBLASLt's kernels for such thin shapes leave
// bandwidth unused. From 3 tokens on cuBLASLt is faster (H100, gpu_linear_bench: at 4 tokens this
// kernel reads 1.8-2.4 TB/s against cuBLASLt's 2.0-2.6, at 8 tokens 1.2-1.6), so it stops at 2.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"
#include "backend/cuda/pdl.cuh"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
// Output rows per block (x is read from L1 once per kRows weight rows) and 16-byte chunks per row per
// thread and step. Chosen per token count with gpu_linear_bench on an H100 among (rows, chunks) =
// (2, 2), (2, 4), (4, 1), (4, 2), (4, 4), (8, 2): (4, 1) reads the 4096 x 4096 weight at 2.89 TB/s
// against 2.74 for (4, 2) at one token; (2, 2) gains 2-14% per shape at two tokens.
template <int Tokens>
struct Blocking;
template <>
struct Blocking<1> {
  static constexpr int kRows = 4, kUnroll = 1;
};
template <>
struct Blocking<2> {
  static constexpr int kRows = 2, kUnroll = 2;
};

template <typename T, typename O, int Tokens>
__global__ void __launch_bounds__(kThreads)
    skinny_gemm_kernel(const T* __restrict__ x, const T* __restrict__ w, O* __restrict__ out, int tokens, int n,
                       int k) {
  constexpr int kRows = Blocking<Tokens>::kRows, kUnroll = Blocking<Tokens>::kUnroll;
  __shared__ float partial[kWarps][kRows * Tokens];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int row0 = blockIdx.x * kRows;
  const int chunks = k / 8;
  float acc[kRows][Tokens];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int t = 0; t < Tokens; ++t) acc[r][t] = 0.0f;
  const uint4* wr[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) wr[r] = reinterpret_cast<const uint4*>(w + size_t(min(row0 + r, n - 1)) * k);
  const uint4* xr = reinterpret_cast<const uint4*>(x);

  uint4 wraw[kUnroll][kRows];
  auto fetch = [&](int c0) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = c0 + u * kThreads;
#pragma unroll
      for (int r = 0; r < kRows; ++r) wraw[u][r] = c < chunks ? load_stream(wr[r] + c) : make_uint4(0, 0, 0, 0);
    }
  };
  // Nothing writes the weights: their first loads go out before waiting for the previous kernel.
  fetch(threadIdx.x);
  pdl_launch_dependents();
  pdl_wait();
  for (int c0 = threadIdx.x; c0 < chunks; c0 += kThreads * kUnroll) {
    if (c0 != int(threadIdx.x)) fetch(c0);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = c0 + u * kThreads;
      if (c >= chunks) break;
      float wf[kRows][8];
#pragma unroll
      for (int r = 0; r < kRows; ++r) unpack8<T>(wraw[u][r], wf[r]);
#pragma unroll
      for (int t = 0; t < Tokens; ++t) {
        if (t >= tokens) break;
        float xf[8];
        unpack8<T>(__ldg(xr + size_t(t) * chunks + c), xf);
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[r][t] += wf[r][e] * xf[e];
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int t = 0; t < Tokens; ++t) {
      if (t >= tokens) break;
      const float v = warp_sum(acc[r][t]);
      if (lane == 0) partial[warp][r * Tokens + t] = v;
    }
  __syncthreads();
  for (int i = threadIdx.x; i < kRows * Tokens; i += kThreads) {
    const int r = i / Tokens, t = i % Tokens;
    if (t >= tokens || row0 + r >= n) continue;
    float v = 0.0f;
#pragma unroll
    for (int wp = 0; wp < kWarps; ++wp) v += partial[wp][i];
    out[size_t(t) * n + row0 + r] = from_float<O>(v);
  }
}

template <typename T, typename O>
void launch_typed(const void* x, const void* w, void* out, int tokens, int n, int k, cudaStream_t stream) {
  const auto* xt = static_cast<const T*>(x);
  const auto* wt = static_cast<const T*>(w);
  auto* o = static_cast<O*>(out);
  auto blocks = [n](int rows) { return unsigned((n + rows - 1) / rows); };
  static_assert(kSkinnyGemmMaxTokens == 2, "one instance per token count");
  if (tokens <= 1)
    launch_pdl(skinny_gemm_kernel<T, O, 1>, blocks(Blocking<1>::kRows), kThreads, 0, stream, xt, wt, o, tokens, n, k);
  else
    launch_pdl(skinny_gemm_kernel<T, O, 2>, blocks(Blocking<2>::kRows), kThreads, 0, stream, xt, wt, o, tokens, n, k);
}

}  // namespace

bool launch_skinny_gemm(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                        int k, cudaStream_t stream) {
  const bool aligned = k % 8 == 0 && aligned16({x, w});
  if (tokens < 1 || tokens > kSkinnyGemmMaxTokens || n < 1 || !aligned || in_dtype == DType::F32) return false;
  if (out_dtype == DType::F32)
    TURBINE_DISPATCH_HALF(in_dtype, launch_typed<T, float>(x, w, out, tokens, n, k, stream));
  else if (out_dtype == in_dtype)
    TURBINE_DISPATCH_HALF(in_dtype, launch_typed<T, T>(x, w, out, tokens, n, k, stream));
  else
    return false;
  return true;
}

}  // namespace turbine::cuda
