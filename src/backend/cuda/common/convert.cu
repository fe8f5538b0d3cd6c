// Element type conversion on the GPU (upload converts after a raw copy; download converts before).
#include <algorithm>

#include "backend/cuda/common/convert.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"

namespace turbine::cuda {
namespace {

template <typename From, typename To>
__global__ void convert_kernel(const From* src, To* dst, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    dst[i] = from_float<To>(to_float(src[i]));
}

template <typename From, typename To>
void launch_typed(const void* src, void* dst, size_t n, cudaStream_t stream) {
  const int threads = 256;
  const size_t blocks = std::min<size_t>((n + threads - 1) / threads, 65535);
  convert_kernel<From, To>
      <<<unsigned(blocks), threads, 0, stream>>>(static_cast<const From*>(src), static_cast<To*>(dst), n);
  TURBINE_CUDA_LAUNCH_CHECK();
}

template <typename From>
void launch_from(const void* src, void* dst, DType to, size_t n, cudaStream_t stream) {
  switch (to) {
    case DType::F32: return launch_typed<From, float>(src, dst, n, stream);
    case DType::F16: return launch_typed<From, __half>(src, dst, n, stream);
    case DType::BF16: return launch_typed<From, __nv_bfloat16>(src, dst, n, stream);
    default: fail("cuda convert: cannot convert to {}", dtype_name(to));
  }
}

}  // namespace

void launch_convert(const void* src, DType from, void* dst, DType to, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  if (from == to) {
    TURBINE_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * dtype_size(from), cudaMemcpyDeviceToDevice, stream));
    return;
  }
  switch (from) {
    case DType::F32: return launch_from<float>(src, dst, to, n, stream);
    case DType::F16: return launch_from<__half>(src, dst, to, n, stream);
    case DType::BF16: return launch_from<__nv_bfloat16>(src, dst, to, n, stream);
    default: fail("cuda convert: cannot convert from {}", dtype_name(from));
  }
}

}  // namespace turbine::cuda
