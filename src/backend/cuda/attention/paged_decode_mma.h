// Decode attention over a quantized KV cache on tensor cores (paged_decode_mma.cu), which
// launch_paged_decode runs instead of its lanes where PagedAttentionParams::decode_mma asks for it
// (CudaOptions::kv_decode_mma, `--kv-decode-mma`). Same grid, splits, workspace and counters as the
// lanes kernel (paged_decode.h).
#pragma once
#include "backend/cuda/attention/paged_attention.h"
#include "backend/cuda/common/kernel_launch.h"

namespace turbine::cuda {

// Asked for, a quantized cache, head_dim 64 or 128, at most 8 query heads per KV head.
bool paged_decode_mma_serves(const PagedAttentionParams& p);
// `split_len` keys per split (launch_paged_decode's); workspace and counters as for the lanes kernel.
void launch_paged_decode_mma(const PagedAttentionParams& p, int splits, int split_len, float* workspace,
                             unsigned* counters, const KernelLaunch& launch);

}  // namespace turbine::cuda
