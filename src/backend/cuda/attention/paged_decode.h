// Decode attention (paged_decode.cu): the sequences of a step that add exactly one token. Kept
// apart from the general paged attention kernel because its work split differs: one block per
// (sequence, KV head, context split), lanes reading 16-byte chunks of K and V straight from the
// cache. With several splits, the last block of a (sequence, KV head) to finish merges the parts,
// so no second kernel runs.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "backend/cuda/attention/paged_attention.h"
#include "backend/cuda/common/kernel_launch.h"

namespace turbine::cuda {

// Whether the decode kernel serves this model shape (head_dim 64 or 128, at most 8 query heads per
// KV head, not forced onto the general path), with a dense or a quantized cache (every KvFormat). It
// runs the sequences of p.decode_seqs (those with one new token), so a mixed step's prefill sequences
// are left to the flash kernel (dense cache) or the general kernel (quantized cache).
bool paged_decode_serves(const PagedAttentionParams& p);
// Context splits for a GPU with `sm_count` multiprocessors: enough blocks to fill it, each split
// still a few warps' worth of keys.
int paged_decode_splits(const PagedAttentionParams& p, int sm_count);
// Float scratch bytes for the per-split partial results (0 for one split).
size_t paged_decode_workspace_bytes(const PagedAttentionParams& p, int splits);
// Split counters needed: one per (sequence, KV head) when splits > 1, else 0.
size_t paged_decode_counter_count(const PagedAttentionParams& p, int splits);
// `counters` must hold paged_decode_counter_count zeros; the kernel leaves them zero again.
void launch_paged_decode(const PagedAttentionParams& p, int splits, float* workspace, unsigned* counters,
                         const KernelLaunch& launch);

}  // namespace turbine::cuda
