// Launcher of int4_wgmma_gemm.cu: the 4-bit product of one 64-token tile plan (int4_tiled_gemm.h's
// plan, 128-row blocks) on Hopper's wgmma, the weights dequantized in registers as its A operand.
#pragma once
#include "backend/cuda/gemm/int4_tiled_gemm.h"

namespace turbine::cuda {

// Blocks of the wgmma kernel resident per SM (the plan's blocks_per_sm at 64-token tiles).
constexpr int kInt4WgmmaBlocksPerSm = 2;

// Returns false (nothing launched) where the kernel does not take the arguments: a plan of other than
// 64-token tiles of 128 rows, a group size that is not a power of two of at least 64, or what
// launch_int4_tiled_gemm refuses.
bool launch_int4_wgmma_gemm(const Int4GemmArgs& args, const Int4TiledPlan& plan, float* workspace,
                            unsigned* counters, const KernelLaunch& launch);

}  // namespace turbine::cuda
