// SwiGLU activation: silu(gate) * up over the fused gate|up projection.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace turbine::cuda {
namespace {

template <typename T>
__global__ void silu_mul_kernel(const T* gate_up, T* out, int tokens, int inter) {
  const size_t n = size_t(tokens) * inter;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter, c = i % inter;
    const float g = to_float(gate_up[t * 2 * inter + c]);
    const float u = to_float(gate_up[t * 2 * inter + inter + c]);
    out[i] = from_float<T>(g / (1.0f + __expf(-g)) * u);
  }
}

}  // namespace

void launch_silu_mul(const void* gate_up, void* out, int tokens, int inter, DType dtype, cudaStream_t stream) {
  const size_t n = size_t(tokens) * inter;
  if (n == 0) return;
  const unsigned blocks = unsigned(std::min<size_t>((n + 255) / 256, 65535));
  TURBINE_DISPATCH_HALF(dtype, silu_mul_kernel<T><<<blocks, 256, 0, stream>>>(static_cast<const T*>(gate_up),
                                                                              static_cast<T*>(out), tokens, inter));
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
