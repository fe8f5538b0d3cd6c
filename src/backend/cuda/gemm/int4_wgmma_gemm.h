// Launcher of int4_wgmma_gemm.cu: the 4-bit product of a 64-token tile plan (int4_tiled_gemm.h's plan
// with wgmma set) on Hopper's wgmma, the weights dequantized in registers as its A operand.
#pragma once
#include "backend/cuda/gemm/int4_tiled_gemm.h"

namespace turbine::cuda {

// Returns false (nothing launched) where the kernel does not take the arguments: a plan without
// wgmma or of more than kInt4WgmmaMaxSplits splits, or a device other than compute capability 9.0.
// launch_int4_tiled_gemm checks the rest. Split K needs no workspace: a tile's splits are one
// thread-block cluster, which adds its blocks' sums in shared memory.
bool launch_int4_wgmma_gemm(const Int4GemmArgs& args, const Int4TiledPlan& plan, const KernelLaunch& launch);

}  // namespace turbine::cuda
