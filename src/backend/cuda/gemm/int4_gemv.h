// Launcher of int4_gemv.cu: the 4-bit (W4A16) linear of int4_gemm.h for decode-sized token counts,
// over the same packed layout and arguments. It takes 1..kInt4GemvMaxTokens tokens and group sizes
// that are powers of two (32, 64, 128, ...); for anything else it returns false and launches nothing,
// and the caller runs launch_int4_gemm instead.
#pragma once
#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda/gemm/int4_gemm.h"
#include "backend/cuda_options.h"  // kInt4GemvMaxTokens, this kernel's limit

namespace turbine::cuda {

// `sms`: the device's multiprocessors (the persistent grid's size follows from it).
bool launch_int4_gemv(const Int4GemmArgs& args, int sms, const KernelLaunch& launch);

}  // namespace turbine::cuda
