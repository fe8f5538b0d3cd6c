// Tensor-core flash attention for prefill chunks over the paged KV cache (flash_prefill.cu):
// one block per (tile of AttentionWork::prefill_tiles, query head), mma.sync in fp16/bf16
// with an fp32 online softmax, over a dense or a quantized cache. Head dims 64 and 128 only.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "backend/cuda/attention/paged_attention.h"

namespace turbine::cuda {

// Shared memory one block needs for a cache of `format` (0: head_dim not supported). Consumer
// Ampere/Ada GPUs (99 KB per block) cannot hold head_dim 128's dense tiles; the general kernel serves them.
size_t flash_prefill_smem_bytes(int head_dim, KvFormat format);
inline bool flash_prefill_supports(const PagedAttentionParams& p) {
  const size_t need = flash_prefill_smem_bytes(p.head_dim, p.kv_format);
  return need > 0 && need <= p.max_smem_per_block;
}
// Attention of every prefill tile in p.prefill_tiles; writes only those tokens' rows of p.out.
void launch_flash_prefill(const PagedAttentionParams& p, cudaStream_t stream);

}  // namespace turbine::cuda
