// The attention kernels of one batch, launched as attention_route.h chooses, and the KV store in front
// of them. Head dims 64 and 128 with up to 8 query heads per KV head: decode tokens on the decode
// kernel (paged_decode.cu, dense or quantized cache); prefill tiles on the tensor-core flash kernel
// (flash_prefill.cu) with a dense cache (or, with --flash-quantized-kv, a quantized one) whose tiles
// fit the device's shared memory, else on the general kernel (paged_attention.cu), which then skips the decode tokens: a mixed step is two
// launches (flash or general first, then decode). Otherwise (another head_dim, a larger group, or
// CudaOptions::general_attention) the general kernel serves every sequence; it dequantizes a
// quantized cache as it stages tiles.
#include <algorithm>

#include "backend/cuda/attention/attention_route.h"
#include "backend/cuda/attention/flash_prefill.h"
#include "backend/cuda/attention/paged_attention.h"
#include "backend/cuda/attention/paged_decode.h"
#include "backend/cuda/attention/qkv_rope_store.h"
#include "backend/cuda/cuda_backend.h"

namespace turbine::cuda {
namespace {

// The route (attention_route.h) of the batch `p` describes.
AttentionRoute route_of(const PagedAttentionParams& p) {
  AttentionBatchFacts f;
  f.head_dim = p.head_dim;
  f.num_heads = p.num_heads;
  f.num_kv_heads = p.num_kv_heads;
  f.num_decode = p.num_decode;
  f.num_prefill_tiles = p.num_prefill_tiles;
  f.kv_format = p.kv_format;
  f.flash_fits = flash_prefill_supports(p);
  f.force_general = p.force_general;
  f.flash_quantized = p.flash_quantized;
  return route_attention(f);
}

}  // namespace

const float* CudaBackend::rope_table(const RopeTable& rope) {
  if (!rope_device_.defined() || rope.inv_freq != rope_host_) {
    rope_host_ = rope.inv_freq;
    rope_device_ = upload(rope_host_.data(), DType::F32, {int64_t(std::max<size_t>(rope_host_.size(), 1))}, DType::F32);
  }
  return rope_device_.ptr<float>();
}

QkvRopeParams CudaBackend::qkv_rope_params(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm,
                                           float norm_eps, const RopeTable& rope, const AttentionShape& shape,
                                           KvCache& cache, int layer, const BatchMeta& meta, Tensor& q_out) {
  const int T = meta.plan->num_tokens, D = shape.head_dim;
  QkvRopeParams p;
  p.qkv = qkv.data;
  p.q_norm = q_norm && q_norm->defined() ? q_norm->data : nullptr;
  p.k_norm = k_norm && k_norm->defined() ? k_norm->data : nullptr;
  p.norm_eps = norm_eps;
  p.inv_freq = rope_table(rope);
  p.attention_factor = rope.attention_factor;
  p.rotary_dim = rope.rotary_dim;
  p.positions = meta.positions.ptr<int32_t>();
  p.slot_mapping = meta.slot_mapping.ptr<int32_t>();
  const size_t layer_elems = cache.spec.bytes() / cache.spec.num_layers / dtype_size(dtype_);
  p.cache_layer = static_cast<char*>(cache.data.data) + layer * layer_elems * dtype_size(dtype_);
  p.q_out = q_out.data;
  p.tokens = T;
  p.num_heads = shape.num_heads;
  p.num_kv_heads = shape.num_kv_heads;
  p.head_dim = D;
  p.block_len = cache.spec.block_len;
  p.dtype = dtype_;
  p.kv_format = cache.spec.format;
  p.kv_block_bytes = cache.spec.block_bytes();
  p.kv_param_offset = cache.spec.param_offset();
  return p;
}

void CudaBackend::do_qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                    const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                    const BatchMeta& meta, Tensor& q_out) {
  activate();
  launch_qkv_rope_store(qkv_rope_params(qkv, q_norm, k_norm, norm_eps, rope, shape, cache, layer, meta, q_out),
                        launch_);
}

void CudaBackend::do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                               const AttentionShape& shape, Tensor& out) {
  activate();
  const BatchPlan& plan = *meta.plan;
  if (!meta.backend_data) fail("cuda attention: the batch was not uploaded by this backend");
  const auto& batch = static_cast<const CudaBatchData&>(*meta.backend_data);
  PagedAttentionParams p;
  p.q = q.data;
  p.out = out.data;
  const size_t layer_bytes = cache.spec.bytes() / cache.spec.num_layers;
  p.cache_layer = static_cast<const char*>(cache.data.data) + layer * layer_bytes;
  p.query_start = meta.query_start.ptr<int32_t>();
  p.context_lens = meta.context_lens.ptr<int32_t>();
  p.block_tables = meta.block_tables.ptr<int32_t>();
  p.decode_seqs = batch.decode_seqs.ptr<int32_t>();
  p.num_decode = int(batch.work.decode_seqs.size());
  p.prefill_tiles = batch.prefill_tiles.ptr<int32_t>();
  p.num_prefill_tiles = batch.work.num_prefill_tiles();
  p.max_blocks = plan.max_blocks;
  p.num_sequences = plan.num_sequences;
  p.num_tokens = plan.num_tokens;
  p.max_new_tokens = plan.max_new_tokens;
  p.max_context = plan.max_context;
  p.num_heads = shape.num_heads;
  p.num_kv_heads = shape.num_kv_heads;
  p.head_dim = shape.head_dim;
  p.block_len = cache.spec.block_len;
  p.scale = shape.scale;
  p.sliding_window = shape.sliding_window;
  p.dtype = dtype_;
  p.kv_format = cache.spec.format;
  p.kv_block_bytes = cache.spec.block_bytes();
  p.kv_param_offset = cache.spec.param_offset();
  p.max_smem_per_block = props_.sharedMemPerBlockOptin;
  p.force_general = options_.general_attention;
  p.flash_quantized = options_.flash_quantized_kv;
  p.decode_wide_lanes = options_.kv_decode_wide_lanes;
  // Split-K scratch, one per kernel; the pool hands it out again only in stream order, after the kernel.
  Tensor general_workspace, decode_workspace;
  auto scratch = [&](Tensor& workspace, size_t bytes) -> float* {
    if (bytes == 0) return nullptr;
    workspace = empty(DType::F32, {int64_t(bytes / sizeof(float))});
    return workspace.ptr<float>();
  };
  const AttentionRoute route = route_of(p);
  if (route.flash) launch_flash_prefill(p, stream_);
  if (route.general) {
    PagedAttentionParams g = p;
    g.skip_decode = route.general_skips_decode();
    const int splits = paged_attention_splits(g, props_.multiProcessorCount);
    launch_paged_attention(g, splits, scratch(general_workspace, paged_attention_workspace_bytes(g, splits)), stream_);
  }
  if (route.decode) {
    const int splits = paged_decode_splits(p, props_.multiProcessorCount);
    launch_paged_decode(p, splits, scratch(decode_workspace, paged_decode_workspace_bytes(p, splits)),
                        split_counters(paged_decode_counter_count(p, splits)), launch_);
  }
}

unsigned* CudaBackend::split_counters(size_t count) {
  if (count == 0) return nullptr;
  if (count > size_t(split_counters_.numel())) fail("cuda attention: more split-K counters needed than allocated");
  return static_cast<unsigned*>(split_counters_.data);
}

}  // namespace turbine::cuda
