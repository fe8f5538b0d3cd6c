// Launcher of int4_wgmma_gemm.cu: the 4-bit product of a tiled plan (int4_tiled_gemm.h's plan with
// wgmma set; tiles of 16, 32 or 64 tokens) on Hopper's wgmma, the weights dequantized in registers as
// its A operand.
#pragma once
#include "backend/cuda/gemm/int4_tiled_gemm.h"

namespace turbine::cuda {

// Prepares `device` (the current one) for launch_int4_wgmma_gemm, once: each kernel's shared-memory
// size, and `clusters`, the device's count of each tile's clusters (the plan's waves). Returns whether
// the device can run the kernels, which are built for sm_90a alone (compute capability 9.0); where it
// returns false, no plan may set wgmma and `clusters` is left as it was.
bool init_int4_wgmma_gemm(int device, Int4WgmmaClusters& clusters);

// Returns false (nothing launched) where the kernel does not take the arguments: a plan without
// wgmma or of more than kInt4WgmmaMaxSplits splits. launch_int4_tiled_gemm checks the rest. Split K
// needs no workspace: a tile's splits are one thread-block cluster, which adds its blocks' sums in
// shared memory. The device must be one init_int4_wgmma_gemm returned true for.
bool launch_int4_wgmma_gemm(const Int4GemmArgs& args, const Int4TiledPlan& plan, const KernelLaunch& launch);

}  // namespace turbine::cuda
