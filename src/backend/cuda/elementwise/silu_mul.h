// Launcher of silu_mul.cu: out[t, i] = silu(gate_up[t, i]) * gate_up[t, I + i].
#pragma once
#include "backend/cuda/common/kernel_launch.h"
#include "core/dtype.h"

namespace turbine::cuda {

void launch_silu_mul(const void* gate_up, void* out, int tokens, int inter, DType dtype, const KernelLaunch& launch);
// The same with `out` in B order (gemm/int4_b_order.h), the input of a 4-bit linear on the wgmma GEMM's
// 64-token tiles. Returns false (nothing launched) unless inter is a multiple of 64, the buffers 16-byte
// aligned and the dtype a half type.
bool launch_silu_mul_b_order(const void* gate_up, void* out, int tokens, int inter, DType dtype,
                             const KernelLaunch& launch);

}  // namespace turbine::cuda
