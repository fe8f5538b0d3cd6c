// Launchers of rms_norm.cu: out = x / rms(x) * w per row. With `residual`: residual += x first, and
// the normalised value is the updated residual.
#pragma once
#include "backend/cuda/common/kernel_launch.h"
#include "core/dtype.h"

namespace turbine::cuda {

void launch_rms_norm(const void* x, const void* weight, void* out, int rows, int cols, float eps, DType dtype,
                     const KernelLaunch& launch);
void launch_add_rms_norm(void* residual, const void* x, const void* weight, void* out, int rows, int cols, float eps,
                         DType dtype, const KernelLaunch& launch);

}  // namespace turbine::cuda
