// Launchers of moe_kernels.cu, the mixture-of-experts kernels. Every size a launch depends on is
// known on the host (tokens, k, experts, widths); how many tokens each expert gets is not: the
// kernels read it from device memory, so a decode step can be recorded into a CUDA graph.
#pragma once
#include <cstdint>

#include "backend/cuda/common/kernel_launch.h"
#include "core/dtype.h"

namespace turbine::cuda {

// Most experts the routing and planning kernels take (their shared memory holds one slot per expert).
constexpr int kMaxMoeExperts = 2048;

// Router logits [tokens, experts] fp32 -> ids, weights [tokens, k]: softmax, top-k (ties: the lower
// expert), the k weights rescaled to sum to 1 when `normalize`. One warp per token.
void launch_moe_route(const float* logits, int tokens, int experts, int k, bool normalize, int32_t* ids,
                      float* weights, const KernelLaunch& launch);

// Groups the (token, slot) pairs of ids [pairs] by expert: offsets [experts + 1] (expert e's pairs
// are sorted[offsets[e] .. offsets[e + 1])), sorted [pairs] (pair indices t * k + j), position
// [pairs] (where each pair went; -1 for an id outside 0..experts-1). One block.
void launch_moe_plan(const int32_t* ids, int pairs, int experts, int32_t* offsets, int32_t* sorted, int32_t* position,
                     const KernelLaunch& launch);

// The grouped expert GEMM, one launch for all experts: the rows of expert e (offsets[e] ..
// offsets[e + 1] in grouped order) times that expert's weights, reading only the weights of
// experts that got rows. Grouped row r's input is a[sorted[r] / a_div] when `sorted` is given
// (the tokens' hidden states, a_div = k), else a[r].
//  - swiglu: w [E, 2N, K] (gate rows, then up rows); out [rows, N] in `dtype`: silu(gate) * up.
//  - else:   w [E, N, K]; out [rows, N] fp32.
void launch_moe_expert_gemm(const void* a, const int32_t* sorted, int a_div, const int32_t* offsets, const void* w,
                            void* out, int experts, int n, int k, bool swiglu, DType dtype,
                            const KernelLaunch& launch);

// out[t] = sum_j weights[t, j] * y[position[t * k + j]] (y [pairs, hidden] fp32; out [tokens, hidden]
// in `dtype`), the slots in order, so the sum does not depend on the grouping.
void launch_moe_combine(const float* y, const int32_t* position, const float* weights, void* out, int tokens, int k,
                        int hidden, DType dtype, const KernelLaunch& launch);

}  // namespace turbine::cuda
