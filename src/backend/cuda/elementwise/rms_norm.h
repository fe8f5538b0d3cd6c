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
// launch_add_rms_norm (launch_rms_norm where `residual` is null) with `out` in B order
// (gemm/int4_b_order.h), the input of a 4-bit linear on the wgmma GEMM's 64-token tiles. Returns false
// (nothing launched) unless cols is a multiple of 64 that the vector kernel takes, its rows aligned.
bool launch_rms_norm_b_order(void* residual, const void* x, const void* weight, void* out, int rows, int cols,
                             float eps, DType dtype, const KernelLaunch& launch);

}  // namespace turbine::cuda
