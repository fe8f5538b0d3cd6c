// Launcher of silu_mul.cu: out[t, i] = silu(gate_up[t, i]) * gate_up[t, I + i].
#pragma once
#include "backend/cuda/common/kernel_launch.h"
#include "core/dtype.h"

namespace turbine::cuda {

void launch_silu_mul(const void* gate_up, void* out, int tokens, int inter, DType dtype, const KernelLaunch& launch);

}  // namespace turbine::cuda
