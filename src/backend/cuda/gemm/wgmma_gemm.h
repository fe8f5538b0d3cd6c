// Launcher of wgmma_gemm.cu: out[T, N] = x[T, K] @ w[N, K]^T for T up to kWgmmaGemmMaxTokens on
// Hopper (TMA + wgmma, K split evenly over one block per SM). init_wgmma_gemm() prepares a device
// and says whether it can run it (compute capability 9.0 and a driver with tensor maps);
// plan_wgmma_gemm() sizes a launch (grid 0: not taken: K not a multiple of 8, too many tokens). The
// launch needs the plan's float workspace and `tiles` counters that start at zero (it leaves them
// zero); it returns false (nothing launched) for unaligned pointers or an output dtype other than
// fp32 or the input's.
#pragma once
#include <cstddef>

#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda_options.h"  // kSkinnyGemmMaxTokens / kWgmmaGemmMaxTokens, this kernel's limit
#include "core/dtype.h"

namespace turbine::cuda {

struct WgmmaGemmPlan {
  int grid = 0;
  int tiles = 0;
  size_t workspace_bytes = 0;
};
bool init_wgmma_gemm(int device);
WgmmaGemmPlan plan_wgmma_gemm(int tokens, int n, int k, int sms);
size_t wgmma_gemm_max_workspace_bytes(int sms);  // the largest workspace_bytes of any plan
bool launch_wgmma_gemm(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                       int k, const WgmmaGemmPlan& plan, float* workspace, unsigned* tile_counters,
                       const KernelLaunch& launch);

}  // namespace turbine::cuda
