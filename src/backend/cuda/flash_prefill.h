// Tensor-core flash attention for prefill chunks over the paged KV cache (flash_prefill.cu):
// one block per (tile of BatchPlan::prefill_tiles, query head), mma.sync in fp16/bf16
// with an fp32 online softmax. Head dims 64 and 128 only.
#pragma once
#include <cuda_runtime.h>

#include "backend/cuda/paged_attention.h"

namespace turbine::cuda {

inline bool flash_prefill_supports(int head_dim) { return head_dim == 64 || head_dim == 128; }
// Attention of every prefill tile in p.prefill_tiles; writes only those tokens' rows of p.out.
void launch_flash_prefill(const PagedAttentionParams& p, cudaStream_t stream);

}  // namespace turbine::cuda
