// Element conversions shared by the kernels: every kernel loads fp16/bf16, computes in fp32 and
// stores back in the tensor's type.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <initializer_list>

#include "core/dtype.h"

namespace turbine::cuda {

// Host side, for the launchers: whether every pointer allows 16-byte vector access (null passes).
inline bool aligned16(std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over a block of up to 1024 threads; `scratch` holds 32 floats. Every thread gets the sum.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  float total = lane < warps ? scratch[lane] : 0.0f;
  return warp_sum(total);
}

// A 16-byte load of data read once (weights in a GEMV, the KV cache in decode attention): it
// bypasses L1 so the reused operands stay there.
__device__ __forceinline__ uint4 load_stream(const void* ptr) {
  uint4 r;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
               : "l"(ptr));
  return r;
}

// Eight fp16/bf16 values of a 16-byte chunk, widened to fp32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float* f) {
  const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int e = 0; e < 8; ++e) f[e] = to_float(h[e]);
}

// Eight fp32 values rounded to fp16/bf16 in one 16-byte chunk.
template <typename T>
__device__ __forceinline__ uint4 pack8(const float* f) {
  uint4 raw;
  T* h = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int e = 0; e < 8; ++e) h[e] = from_float<T>(f[e]);
  return raw;
}

}  // namespace turbine::cuda

// Instantiates a launcher body for the two compute dtypes: F(T) is called with T = __half or
// __nv_bfloat16 according to `dtype`.
#define TURBINE_DISPATCH_HALF(dtype, ...)                                                             \
  do {                                                                                                \
    if ((dtype) == ::turbine::DType::F16) {                                                           \
      using T = __half;                                                                               \
      __VA_ARGS__;                                                                                    \
    } else if ((dtype) == ::turbine::DType::BF16) {                                                   \
      using T = __nv_bfloat16;                                                                        \
      __VA_ARGS__;                                                                                    \
    } else {                                                                                          \
      ::turbine::fail("cuda kernels take float16 or bfloat16, got {}", ::turbine::dtype_name(dtype)); \
    }                                                                                                 \
  } while (0)
