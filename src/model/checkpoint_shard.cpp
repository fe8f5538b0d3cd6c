#include "model/checkpoint_shard.h"

#include <cstring>

#include "core/error.h"

namespace turbine {

namespace {

size_t row_bytes(const TensorView& v) { return v.shape.empty() ? 0 : v.bytes / size_t(v.shape[0]); }

}  // namespace

CheckpointShard::CheckpointShard(const Checkpoint& checkpoint, const ModelConfig& config, const ShardLayout& layout)
    : checkpoint_(checkpoint), config_(config), layout_(layout), names_(weight_names(config.arch)) {}

size_t CheckpointShard::total_bytes() const {
  size_t total = 0;
  for (const RankTensor& t : rank_tensors(config_, layout_)) {
    size_t n = 1;
    for (int64_t d : t.shape) n *= size_t(d);
    total += n * dtype_size(config_.dtype);  // for progress: in the checkpoint's dtype
  }
  return total;
}

HostTensor CheckpointShard::stacked_rows(const std::vector<std::string>& names,
                                         const std::vector<std::vector<int64_t>>& shapes,
                                         const std::vector<std::pair<int64_t, int64_t>>& ranges) const {
  std::vector<const TensorView*> views;
  bool same_dtype = true;
  for (size_t i = 0; i < names.size(); ++i) {
    views.push_back(&checkpoint_.get(names[i], shapes[i]));
    same_dtype = same_dtype && views[i]->dtype == views[0]->dtype;
  }
  HostTensor h;
  h.dtype = same_dtype ? views[0]->dtype : DType::F32;  // mixed dtypes meet in fp32
  if (views.size() == 1) {                              // one contiguous run of rows: borrowed
    const TensorView& v = *views[0];
    h.data = static_cast<const char*>(v.data) + size_t(ranges[0].first) * row_bytes(v);
    h.bytes = size_t(ranges[0].second - ranges[0].first) * row_bytes(v);
    return h;
  }
  for (size_t i = 0; i < views.size(); ++i) {
    const TensorView& v = *views[i];
    const size_t elems_per_row = row_bytes(v) / dtype_size(v.dtype);
    const size_t rows = size_t(ranges[i].second - ranges[i].first);
    const char* src = static_cast<const char*>(v.data) + size_t(ranges[i].first) * row_bytes(v);
    const size_t at = h.owned.size();
    h.owned.resize(at + rows * elems_per_row * dtype_size(h.dtype));
    if (same_dtype)
      std::memcpy(h.owned.data() + at, src, rows * row_bytes(v));
    else
      convert_to_f32(src, v.dtype, reinterpret_cast<float*>(h.owned.data() + at), rows * elems_per_row);
  }
  h.data = h.owned.data();
  h.bytes = h.owned.size();
  return h;
}

HostTensor CheckpointShard::columns(const std::string& name, const std::vector<int64_t>& shape, int64_t begin,
                                    int64_t end) const {
  const TensorView& v = checkpoint_.get(name, shape);
  HostTensor h;
  h.dtype = v.dtype;
  if (begin == 0 && end == shape[1]) {
    h.data = v.data;
    h.bytes = v.bytes;
    return h;
  }
  const size_t es = dtype_size(v.dtype), width = size_t(end - begin);
  h.owned.resize(size_t(shape[0]) * width * es);
  for (int64_t r = 0; r < shape[0]; ++r)
    std::memcpy(h.owned.data() + size_t(r) * width * es,
                static_cast<const char*>(v.data) + (size_t(r) * size_t(shape[1]) + size_t(begin)) * es, width * es);
  h.data = h.owned.data();
  h.bytes = h.owned.size();
  return h;
}

HostTensor CheckpointShard::get(const RankTensor& t) const {
  const ModelConfig& c = config_;
  const ShardLayout& s = layout_;
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, D = c.head_dim;
  const int64_t q_rows = int64_t(c.num_heads) * D, kv_rows = int64_t(c.num_kv_heads) * D;
  const std::pair<int64_t, int64_t> q_range{s.first_q_head * D, (s.first_q_head + s.q_heads) * D};
  const std::pair<int64_t, int64_t> kv_range{s.first_kv_head * D, (s.first_kv_head + s.kv_heads) * D};
  const std::pair<int64_t, int64_t> inter{s.inter_begin, s.inter_end}, vocab{s.vocab_begin, s.vocab_end};
  const auto whole = [&](const std::string& name, std::vector<int64_t> shape) {
    return stacked_rows({name}, {shape}, {{0, shape[0]}});
  };
  const LayerWeightNames n = t.layer >= 0 ? names_.layer(t.layer) : LayerWeightNames{};
  switch (t.field) {
    case RankField::EmbedTokens: {
      HostTensor h = stacked_rows({names_.embed_tokens}, {{V, H}}, {vocab});
      if (s.embed_rows() == s.vocab_size()) return h;
      // The row of zeros that tokens outside this rank's vocabulary read.
      std::vector<char> padded(h.bytes + size_t(H) * dtype_size(h.dtype), 0);
      std::memcpy(padded.data(), h.data, h.bytes);
      h.owned = std::move(padded);
      h.data = h.owned.data();
      h.bytes = h.owned.size();
      return h;
    }
    case RankField::FinalNorm: return whole(names_.final_norm, {H});
    case RankField::LmHead: return stacked_rows({names_.lm_head}, {{V, H}}, {vocab});
    case RankField::AttnNorm: return whole(n.attn_norm, {H});
    case RankField::Qkv:
      return stacked_rows({n.q, n.k, n.v}, {{q_rows, H}, {kv_rows, H}, {kv_rows, H}}, {q_range, kv_range, kv_range});
    case RankField::QkvBias:
      return stacked_rows({n.q_bias, n.k_bias, n.v_bias}, {{q_rows}, {kv_rows}, {kv_rows}},
                          {q_range, kv_range, kv_range});
    case RankField::OProj: return columns(n.o, {H, q_rows}, q_range.first, q_range.second);
    case RankField::OBias: return whole(n.o_bias, {H});
    case RankField::QNorm: return whole(n.q_norm, {D});
    case RankField::KNorm: return whole(n.k_norm, {D});
    case RankField::MlpNorm: return whole(n.mlp_norm, {H});
    case RankField::GateUp: return stacked_rows({n.gate, n.up}, {{I, H}, {I, H}}, {inter, inter});
    case RankField::GateUpBias: return stacked_rows({n.gate_bias, n.up_bias}, {{I}, {I}}, {inter, inter});
    case RankField::Down: return columns(n.down, {H, I}, inter.first, inter.second);
    case RankField::DownBias: return whole(n.down_bias, {H});
  }
  fail("checkpoint: no tensor for {}", t.name());
}

}  // namespace turbine
