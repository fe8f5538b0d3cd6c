// Launcher of paged causal attention over the KV cache (paged_attention.cu): any mix of prefill
// chunks and decode tokens, GQA, sliding window. attention_dispatch.cpp decides when the decode
// kernel (paged_decode.cu) and the tensor-core flash kernel (flash_prefill.cu) take a batch, or its
// decode tokens (skip_decode), instead. In the general kernel a context is split across thread
// blocks (split-K) when the batch alone would not fill the GPU, then a reduce kernel merges the parts.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backend/kv_format.h"
#include "core/dtype.h"

namespace turbine::cuda {

struct PagedAttentionParams {
  const void* q = nullptr;                 // [T, Hq D], already rotated
  void* out = nullptr;                     // [T, Hq D]
  const void* cache_layer = nullptr;       // this layer's [block][k|v][kv_head][block_len][D]
  const int32_t* query_start = nullptr;    // [S + 1]
  const int32_t* context_lens = nullptr;   // [S], context + new tokens
  const int32_t* block_tables = nullptr;   // [S, max_blocks]
  const int32_t* decode_seqs = nullptr;    // [num_decode] sequences with one new token (AttentionWork)
  const int32_t* prefill_tiles = nullptr;  // [num_prefill_tiles, 2] (sequence, first new token)
  int num_decode = 0, num_prefill_tiles = 0;
  int max_blocks = 0;
  int num_sequences = 0, num_tokens = 0, max_new_tokens = 0, max_context = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, block_len = 0;
  float scale = 0.0f;
  int sliding_window = 0;
  DType dtype = DType::BF16;
  size_t max_smem_per_block = 0;   // the device's opt-in limit; the flash kernel runs only where its tiles fit
  bool force_general = false;      // skip the decode and flash kernels (tests compare the paths)
  bool flash_quantized = false;    // prefill tiles over a quantized cache on the flash kernel (CudaOptions)
  bool decode_wide_lanes = false;  // the decode kernel's wide lanes on a quantized cache (paged_decode.cu, CudaOptions)
  // The general kernel leaves the sequences with one new token (p.decode_seqs) to the decode kernel:
  // a mixed step over a quantized cache runs both, each writing only its own rows of p.out.
  bool skip_decode = false;
  // A quantized cache (backend/kv_format.h), head_dim 64 / 128: read by the general and decode kernels
  // (and the flash kernel with flash_quantized).
  KvFormat kv_format = KvFormat::Dense;
  size_t kv_block_bytes = 0, kv_param_offset = 0;
};

// The general kernel (any head_dim multiple of 8 up to 256, any GQA ratio):
// Bytes of float scratch the launch needs when asked for `splits` parts (0 when it needs none).
size_t paged_attention_workspace_bytes(const PagedAttentionParams& p, int splits);
// How many parts to split each context into on a GPU with `sm_count` multiprocessors.
int paged_attention_splits(const PagedAttentionParams& p, int sm_count);
void launch_paged_attention(const PagedAttentionParams& p, int splits, float* workspace, cudaStream_t stream);

}  // namespace turbine::cuda
