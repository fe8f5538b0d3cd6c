// RMSNorm, alone and fused with the residual add that precedes it in every decoder sub-layer.
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace turbine::cuda {
namespace {

// One block per row. With Residual, residual += x (rounded to T, as the model keeps it) and the
// rounded sum is what gets normalised.
template <typename T, bool Residual>
__global__ void rms_norm_kernel(T* residual, const T* x, const T* weight, T* out, int cols, float eps) {
  __shared__ float scratch[32];
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

}  // namespace

void launch_rms_norm(const void* x, const void* weight, void* out, int rows, int cols, float eps, DType dtype,
                     cudaStream_t stream) {
  if (rows == 0) return;
  TURBINE_DISPATCH_HALF(dtype, rms_norm_kernel<T, false><<<rows, threads_for(cols), 0, stream>>>(
                                   nullptr, static_cast<const T*>(x), static_cast<const T*>(weight),
                                   static_cast<T*>(out), cols, eps));
  TURBINE_CUDA_LAUNCH_CHECK();
}

void launch_add_rms_norm(void* residual, const void* x, const void* weight, void* out, int rows, int cols,
                         float eps, DType dtype, cudaStream_t stream) {
  if (rows == 0) return;
  TURBINE_DISPATCH_HALF(dtype, rms_norm_kernel<T, true><<<rows, threads_for(cols), 0, stream>>>(
                                   static_cast<T*>(residual), static_cast<const T*>(x),
                                   static_cast<const T*>(weight), static_cast<T*>(out), cols, eps));
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
