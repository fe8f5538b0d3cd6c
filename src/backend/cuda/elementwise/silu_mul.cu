// SwiGLU activation: silu(gate) * up over the fused gate|up projection.
#include <algorithm>
#include <cstdint>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/elementwise/silu_mul.h"
#include "backend/cuda/gemm/int4_b_order.h"

namespace turbine::cuda {
namespace {

template <typename T>
__global__ void silu_mul_kernel(const T* gate_up, T* out, int tokens, int inter) {
  pdl_launch_dependents();
  pdl_wait();
  const size_t n = size_t(tokens) * inter;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter, c = i % inter;
    const float g = to_float(gate_up[t * 2 * inter + c]);
    const float u = to_float(gate_up[t * 2 * inter + inter + c]);
    out[i] = from_float<T>(g / (1.0f + __expf(-g)) * u);
  }
}

// Eight outputs per thread with 16-byte loads and stores (inter % 8 == 0, aligned buffers). BOrder:
// `out` in B order (gemm/int4_b_order.h; inter % 64 == 0), the four 4-byte words of a thread's eight
// outputs stored apart.
template <typename T, bool BOrder = false>
__global__ void silu_mul_vec_kernel(const T* gate_up, T* out, int tokens, int inter) {
  pdl_launch_dependents();
  pdl_wait();
  const int chunks = inter / 8;
  const size_t n = size_t(tokens) * chunks;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / chunks, c = i % chunks;
    const uint4* row = reinterpret_cast<const uint4*>(gate_up + t * 2 * inter);
    const uint4 graw = row[c], uraw = row[chunks + c];
    const T* g = reinterpret_cast<const T*>(&graw);
    const T* u = reinterpret_cast<const T*>(&uraw);
    uint4 oraw;
    T* o = reinterpret_cast<T*>(&oraw);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float gf = to_float(g[e]);
      o[e] = from_float<T>(gf / (1.0f + __expf(-gf)) * to_float(u[e]));
    }
    if constexpr (BOrder) {
      uint32_t* row_out = reinterpret_cast<uint32_t*>(out + t * inter);
      const uint32_t words[4] = {oraw.x, oraw.y, oraw.z, oraw.w};
#pragma unroll
      for (int p = 0; p < 4; ++p) row_out[int4_b_order_word(int(4 * c) + p)] = words[p];
    } else {
      reinterpret_cast<uint4*>(out)[i] = oraw;
    }
  }
}

}  // namespace

void launch_silu_mul(const void* gate_up, void* out, int tokens, int inter, DType dtype, const KernelLaunch& launch) {
  const size_t n = size_t(tokens) * inter;
  if (n == 0) return;
  if (inter % 8 == 0 && aligned16({gate_up, out})) {
    const unsigned vblocks = unsigned(std::min<size_t>((n / 8 + 255) / 256, 65535));
    TURBINE_DISPATCH_HALF(dtype, launch_pdl(silu_mul_vec_kernel<T>, vblocks, 256, 0, launch,
                                            static_cast<const T*>(gate_up), static_cast<T*>(out), tokens, inter));
    TURBINE_CUDA_LAUNCH_CHECK();
    return;
  }
  const unsigned blocks = unsigned(std::min<size_t>((n + 255) / 256, 65535));
  TURBINE_DISPATCH_HALF(dtype, launch_pdl(silu_mul_kernel<T>, blocks, 256, 0, launch, static_cast<const T*>(gate_up),
                                          static_cast<T*>(out), tokens, inter));
  TURBINE_CUDA_LAUNCH_CHECK();
}

bool launch_silu_mul_b_order(const void* gate_up, void* out, int tokens, int inter, DType dtype,
                             const KernelLaunch& launch) {
  if (inter % 64 != 0 || !aligned16({gate_up, out})) return false;
  if (dtype != DType::F16 && dtype != DType::BF16) return false;
  const size_t n = size_t(tokens) * inter;
  if (n == 0) return true;
  const unsigned vblocks = unsigned(std::min<size_t>((n / 8 + 255) / 256, 65535));
  TURBINE_DISPATCH_HALF(dtype, launch_pdl(silu_mul_vec_kernel<T, true>, vblocks, 256, 0, launch,
                                          static_cast<const T*>(gate_up), static_cast<T*>(out), tokens, inter));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
