// RMSNorm, alone and fused with the residual add that precedes it in every decoder sub-layer.
#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/elementwise/rms_norm.h"
#include "backend/cuda/gemm/int4_b_order.h"

namespace turbine::cuda {
namespace {

// One block per row. With Residual, residual += x (rounded to T, as the model keeps it) and the
// rounded sum is what gets normalised.
template <typename T, bool Residual>
__global__ void rms_norm_kernel(T* residual, const T* x, const T* weight, T* out, int cols, float eps) {
  __shared__ float scratch[32];
  pdl_launch_dependents();
  pdl_wait();
  const size_t row = blockIdx.x;
  const T* xr = x + row * cols;
  T* rr = Residual ? residual + row * cols : nullptr;
  float sum = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float v = to_float(xr[c]);
    if (Residual) {
      const T r = from_float<T>(to_float(rr[c]) + v);
      rr[c] = r;
      v = to_float(r);
    }
    sum += v * v;
  }
  const float inv = rsqrtf(block_sum(sum, scratch) / float(cols) + eps);
  const T* src = Residual ? rr : xr;
  T* o = out + row * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x)
    o[c] = from_float<T>(to_float(src[c]) * inv * to_float(weight[c]));
}

int threads_for(int cols) { return std::min(1024, std::max(32, (cols / 4 + 31) / 32 * 32)); }

// The same with 16-byte loads, the row held in registers between the two passes and a single
// barrier: a decode step's rows are latency-bound, not bandwidth-bound. Needs cols % 8 == 0,
// aligned rows and cols <= 8 * kChunks * 1024. BOrder: the output in B order (int4_b_order.h, cols
// % 64 == 0), a chunk's four 4-byte words stored apart.
constexpr int kChunks = 4;  // 16-byte chunks per thread

template <typename T, bool Residual, bool BOrder = false>
__global__ void rms_norm_vec_kernel(T* residual, const T* x, const T* weight, T* out, int cols, float eps) {
  __shared__ float scratch[32];
  const size_t row = blockIdx.x;
  const int chunks = cols / 8;
  // The norm weights are constant: fetched before waiting for the previous kernel.
  const uint4* wr = reinterpret_cast<const uint4*>(weight);
  uint4 wraw[kChunks];
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int c = threadIdx.x + j * blockDim.x;
    wraw[j] = c < chunks ? __ldg(wr + c) : make_uint4(0, 0, 0, 0);
  }
  pdl_launch_dependents();
  pdl_wait();
  const uint4* xr = reinterpret_cast<const uint4*>(x + row * cols);
  uint4* rr = Residual ? reinterpret_cast<uint4*>(residual + row * cols) : nullptr;
  // Every chunk's loads go out before the first store: a store to the residual row may alias a later
  // chunk's load, so loads after it would wait for it, one round trip to L2 per chunk.
  uint4 xraw[kChunks], rraw[kChunks];
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int c = threadIdx.x + j * blockDim.x;
    xraw[j] = rraw[j] = make_uint4(0, 0, 0, 0);
    if (c < chunks) {
      xraw[j] = xr[c];
      if (Residual) rraw[j] = rr[c];
    }
  }
  float v[kChunks][8];
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int c = threadIdx.x + j * blockDim.x;
    if (c >= chunks) break;
    unpack8<T>(xraw[j], v[j]);
    if (Residual) {
      float r[8];
      unpack8<T>(rraw[j], r);
#pragma unroll
      for (int e = 0; e < 8; ++e) r[e] += v[j][e];
      const uint4 rounded = pack8<T>(r);  // the residual stream is kept in T
      rr[c] = rounded;
      unpack8<T>(rounded, v[j]);
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) sum += v[j][e] * v[j][e];
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  sum = warp_sum(sum);
  if (lane == 0) scratch[warp] = sum;
  __syncthreads();
  sum = 0.0f;
  for (int w = 0; w < warps; ++w) sum += scratch[w];
  const float inv = rsqrtf(sum / float(cols) + eps);
  uint4* o = reinterpret_cast<uint4*>(out + row * cols);
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int c = threadIdx.x + j * blockDim.x;
    if (c >= chunks) break;
    float wf[8];
    unpack8<T>(wraw[j], wf);
#pragma unroll
    for (int e = 0; e < 8; ++e) v[j][e] = v[j][e] * inv * wf[e];
    const uint4 packed = pack8<T>(v[j]);
    if constexpr (BOrder) {
      uint32_t* o32 = reinterpret_cast<uint32_t*>(out + row * cols);
      const uint32_t words[4] = {packed.x, packed.y, packed.z, packed.w};
#pragma unroll
      for (int p = 0; p < 4; ++p) o32[int4_b_order_word(4 * c + p)] = words[p];
    } else {
      o[c] = packed;
    }
  }
}

bool vector_ok(int cols, std::initializer_list<const void*> ptrs) {
  return cols % 8 == 0 && cols <= 8 * kChunks * 1024 && aligned16(ptrs);
}

// Enough threads that each holds at most kChunks chunks, in whole warps.
int vector_threads(int cols) {
  const int chunks = cols / 8;
  return std::max(32, ((chunks + kChunks - 1) / kChunks + 31) / 32 * 32);
}

}  // namespace

void launch_rms_norm(const void* x, const void* weight, void* out, int rows, int cols, float eps, DType dtype,
                     const KernelLaunch& launch) {
  if (rows == 0) return;
  if (vector_ok(cols, {x, weight, out})) {
    TURBINE_DISPATCH_HALF(
        dtype, launch_pdl(rms_norm_vec_kernel<T, false>, rows, vector_threads(cols), 0, launch, nullptr,
                          static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
    TURBINE_CUDA_LAUNCH_CHECK();
    return;
  }
  TURBINE_DISPATCH_HALF(
      dtype, launch_pdl(rms_norm_kernel<T, false>, rows, threads_for(cols), 0, launch, nullptr,
                        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
  TURBINE_CUDA_LAUNCH_CHECK();
}

bool launch_rms_norm_b_order(void* residual, const void* x, const void* weight, void* out, int rows, int cols,
                             float eps, DType dtype, const KernelLaunch& launch) {
  if (cols % 64 != 0 || !vector_ok(cols, {residual ? residual : x, x, weight, out})) return false;
  if (dtype != DType::F16 && dtype != DType::BF16) return false;
  if (rows == 0) return true;
  if (residual) {
    TURBINE_DISPATCH_HALF(dtype, launch_pdl(rms_norm_vec_kernel<T, true, true>, rows, vector_threads(cols), 0, launch,
                                            static_cast<T*>(residual), static_cast<const T*>(x),
                                            static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
  } else {
    TURBINE_DISPATCH_HALF(
        dtype, launch_pdl(rms_norm_vec_kernel<T, false, true>, rows, vector_threads(cols), 0, launch, nullptr,
                          static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
  }
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

void launch_add_rms_norm(void* residual, const void* x, const void* weight, void* out, int rows, int cols, float eps,
                         DType dtype, const KernelLaunch& launch) {
  if (rows == 0) return;
  if (vector_ok(cols, {residual, x, weight, out})) {
    TURBINE_DISPATCH_HALF(dtype, launch_pdl(rms_norm_vec_kernel<T, true>, rows, vector_threads(cols), 0, launch,
                                            static_cast<T*>(residual), static_cast<const T*>(x),
                                            static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
    TURBINE_CUDA_LAUNCH_CHECK();
    return;
  }
  TURBINE_DISPATCH_HALF(
      dtype, launch_pdl(rms_norm_kernel<T, true>, rows, threads_for(cols), 0, launch, static_cast<T*>(residual),
                        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
