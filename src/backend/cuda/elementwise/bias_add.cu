// Adds a per-column bias after a GEMM (Qwen2's qkv bias, Llama's attention_bias).
#include <algorithm>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/elementwise/bias_add.h"

namespace turbine::cuda {
namespace {

template <typename O, typename B>
__global__ void bias_add_kernel(O* out, const B* bias, int rows, int cols) {
  const size_t n = size_t(rows) * cols;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = from_float<O>(to_float(out[i]) + to_float(bias[i % cols]));
}

template <typename B>
void launch_out(void* out, DType out_dtype, const B* bias, int rows, int cols, cudaStream_t stream) {
  const size_t n = size_t(rows) * cols;
  const unsigned blocks = unsigned(std::min<size_t>((n + 255) / 256, 65535));
  if (out_dtype == DType::F32)
    bias_add_kernel<<<blocks, 256, 0, stream>>>(static_cast<float*>(out), bias, rows, cols);
  else
    TURBINE_DISPATCH_HALF(out_dtype,
                          bias_add_kernel<<<blocks, 256, 0, stream>>>(static_cast<T*>(out), bias, rows, cols));
}

}  // namespace

void launch_bias_add(void* out, DType out_dtype, const void* bias, DType bias_dtype, int rows, int cols,
                     cudaStream_t stream) {
  if (size_t(rows) * cols == 0) return;
  if (bias_dtype == DType::F32)
    launch_out(out, out_dtype, static_cast<const float*>(bias), rows, cols, stream);
  else
    TURBINE_DISPATCH_HALF(bias_dtype, launch_out(out, out_dtype, static_cast<const T*>(bias), rows, cols, stream));
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
