#include "model/checkpoint_shard.h"

#include <cstring>

#include "core/error.h"
#include "model/awq_format.h"
#include "model/int4_groups.h"
#include "model/packed_qkv.h"

namespace turbine {

namespace {

size_t row_bytes(const TensorView& v) { return v.shape.empty() ? 0 : v.bytes / size_t(v.shape[0]); }

// Rows [begin, end) of a host 4-bit matrix.
HostInt4Matrix int4_rows(const HostInt4Matrix& m, int64_t begin, int64_t end) {
  HostInt4Matrix r;
  r.n = end - begin;
  r.k = m.k;
  r.group_size = m.group_size;
  const int64_t groups = m.k / m.group_size;
  r.q.assign(m.q.begin() + begin * m.k, m.q.begin() + end * m.k);
  r.zeros.assign(m.zeros.begin() + begin * groups, m.zeros.begin() + end * groups);
  r.scales.assign(m.scales.begin() + begin * groups, m.scales.begin() + end * groups);
  return r;
}

// Columns [begin, end) of a host 4-bit matrix; they must start and end on group boundaries.
HostInt4Matrix int4_columns(const HostInt4Matrix& m, int64_t begin, int64_t end, const std::string& name) {
  const int64_t G = m.group_size;
  if (begin % G != 0 || end % G != 0)
    fail("{}: tensor parallelism would cut a 4-bit group (columns {}..{} of {}, group size {}); choose a --tp that "
         "splits it on group boundaries",
         name, begin, end, m.k, G);
  HostInt4Matrix r;
  r.n = m.n;
  r.k = end - begin;
  r.group_size = int(G);
  const int64_t groups = m.k / G, g0 = begin / G, g1 = end / G;
  for (int64_t row = 0; row < m.n; ++row) {
    r.q.insert(r.q.end(), m.q.begin() + row * m.k + begin, m.q.begin() + row * m.k + end);
    r.zeros.insert(r.zeros.end(), m.zeros.begin() + row * groups + g0, m.zeros.begin() + row * groups + g1);
    r.scales.insert(r.scales.end(), m.scales.begin() + row * groups + g0, m.scales.begin() + row * groups + g1);
  }
  return r;
}

std::string strip_weight_suffix(const std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

}  // namespace

void check_int4_split(const ModelConfig& config, int tp) {
  const int64_t G = config.awq_group_size;
  if (G <= 0 || tp <= 1) return;
  const int64_t D = config.head_dim, q_cols = int64_t(config.num_heads) * D;
  for (int r = 0; r < tp; ++r) {
    const ShardLayout s = shard_layout(config, r, tp);
    const int64_t o_begin = s.first_q_head * D, o_end = o_begin + s.q_heads * D;
    if (o_begin % G != 0 || o_end % G != 0)
      fail("--tp {}: rank {} would take input columns {}..{} of o_proj's {}, cutting a 4-bit group (group size {}); "
           "choose a --tp that splits on group boundaries or quantize with a smaller --group-size",
           tp, r, o_begin, o_end, q_cols, G);
    if (s.inter_begin % G != 0 || s.inter_end % G != 0)
      fail("--tp {}: rank {} would take input columns {}..{} of down_proj's {}, cutting a 4-bit group (group size "
           "{}); choose a --tp that splits on group boundaries or quantize with a smaller --group-size",
           tp, r, s.inter_begin, s.inter_end, config.intermediate_size, G);
  }
}

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

HostTensor CheckpointShard::packed_qkv_rows(const std::string& name, int64_t cols) const {
  const ModelConfig& c = config_;
  const int64_t D = c.head_dim, heads = c.num_heads + 2 * c.num_kv_heads;
  const TensorView& v =
      checkpoint_.get(name, cols > 0 ? std::vector<int64_t>{heads * D, cols} : std::vector<int64_t>{heads * D});
  const size_t block_bytes = v.bytes / size_t(heads);
  const std::vector<int64_t> blocks = packed_qkv_blocks();
  HostTensor h;
  h.dtype = v.dtype;
  h.owned.resize(blocks.size() * block_bytes);
  for (size_t i = 0; i < blocks.size(); ++i)
    std::memcpy(h.owned.data() + i * block_bytes, static_cast<const char*>(v.data) + size_t(blocks[i]) * block_bytes,
                block_bytes);
  h.data = h.owned.data();
  h.bytes = h.owned.size();
  return h;
}

std::vector<int64_t> CheckpointShard::packed_qkv_blocks() const {
  const ModelConfig& c = config_;
  const ShardLayout& s = layout_;
  // Blocks of the fused order this rank holds: its query heads, then its key heads, then its value heads.
  std::vector<int64_t> fused;
  for (int h = 0; h < s.q_heads; ++h) fused.push_back(s.first_q_head + h);
  for (int h = 0; h < s.kv_heads; ++h) fused.push_back(c.num_heads + s.first_kv_head + h);
  for (int h = 0; h < s.kv_heads; ++h) fused.push_back(c.num_heads + c.num_kv_heads + s.first_kv_head + h);
  const std::vector<int64_t> source = unpack_qkv_blocks(c.num_heads, c.num_kv_heads);
  std::vector<int64_t> blocks;
  for (int64_t b : fused) blocks.push_back(source[size_t(b)]);
  return blocks;
}

HostInt4Matrix CheckpointShard::packed_qkv_int4(const std::string& name) const {
  // AutoAWQ packs eight outputs per word, so a head's rows are whole words only when head_dim is a
  // multiple of 8; the whole tensor is unpacked first, and the heads are then rows like any others.
  const int64_t D = config_.head_dim, heads = config_.num_heads + 2 * config_.num_kv_heads;
  const HostInt4Matrix all = awq_matrix(name, heads * D, config_.hidden_size);
  std::vector<HostInt4Matrix> parts;
  for (int64_t b : packed_qkv_blocks()) parts.push_back(int4_rows(all, b * D, (b + 1) * D));
  return stack_int4_rows(parts);
}

HostInt4Matrix CheckpointShard::awq_matrix(const std::string& weight_name, int64_t n, int64_t k) const {
  const std::string base = strip_weight_suffix(weight_name);
  const int64_t G = config_.awq_group_size;
  if (n % 8 != 0 || k % G != 0)
    fail("{}: a [{}, {}] layer cannot hold AWQ weights of group size {} (rows a multiple of 8, group size dividing "
         "the columns)",
         base, n, k, G);
  const auto typed = [&](const std::string& name, std::vector<int64_t> shape, DType dtype) -> const TensorView& {
    const TensorView& v = checkpoint_.get(name, shape);
    if (v.dtype != dtype)
      fail("{}: tensor '{}' is {}, AWQ stores it as {}", v.file.string(), name, dtype_name(v.dtype), dtype_name(dtype));
    return v;
  };
  const TensorView& qw = typed(base + ".qweight", {k, n / 8}, DType::I32);
  const TensorView& qz = typed(base + ".qzeros", {k / G, n / 8}, DType::I32);
  const TensorView& sc = typed(base + ".scales", {k / G, n}, DType::F16);
  // Copies: a mapped tensor's data need not be aligned for int32 reads.
  std::vector<int32_t> qweight(size_t(qw.numel())), qzeros(size_t(qz.numel()));
  std::vector<uint16_t> scales(size_t(sc.numel()));
  std::memcpy(qweight.data(), qw.data, qw.bytes);
  std::memcpy(qzeros.data(), qz.data, qz.bytes);
  std::memcpy(scales.data(), sc.data, sc.bytes);
  return unpack_awq(qweight.data(), qzeros.data(), scales.data(), n, k, int(G));
}

HostInt4Matrix CheckpointShard::get_int4(const RankTensor& t) const {
  const ModelConfig& c = config_;
  const ShardLayout& s = layout_;
  if (c.awq_group_size <= 0) return RankWeightSource::get_int4(t);
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_rows = int64_t(c.num_heads) * D, kv_rows = int64_t(c.num_kv_heads) * D;
  const LayerWeightNames n = names_.layer(t.layer);
  switch (t.field) {
    case RankField::Qkv:
      if (!n.qkv_packed.empty()) return packed_qkv_int4(n.qkv_packed);
      return stack_int4_rows({int4_rows(awq_matrix(n.q, q_rows, H), s.first_q_head * D, (s.first_q_head + s.q_heads) * D),
                              int4_rows(awq_matrix(n.k, kv_rows, H), s.first_kv_head * D,
                                        (s.first_kv_head + s.kv_heads) * D),
                              int4_rows(awq_matrix(n.v, kv_rows, H), s.first_kv_head * D,
                                        (s.first_kv_head + s.kv_heads) * D)});
    case RankField::OProj:
      return int4_columns(awq_matrix(n.o, H, q_rows), s.first_q_head * D, (s.first_q_head + s.q_heads) * D, n.o);
    case RankField::GateUp:
      return stack_int4_rows({int4_rows(awq_matrix(n.gate, I, H), s.inter_begin, s.inter_end),
                              int4_rows(awq_matrix(n.up, I, H), s.inter_begin, s.inter_end)});
    case RankField::Down: return int4_columns(awq_matrix(n.down, H, I), s.inter_begin, s.inter_end, n.down);
    default: return RankWeightSource::get_int4(t);
  }
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
      if (!n.qkv_packed.empty()) return packed_qkv_rows(n.qkv_packed, H);
      return stacked_rows({n.q, n.k, n.v}, {{q_rows, H}, {kv_rows, H}, {kv_rows, H}}, {q_range, kv_range, kv_range});
    case RankField::QkvBias:
      if (!n.qkv_packed.empty()) return packed_qkv_rows(n.qkv_packed_bias, 0);
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
    case RankField::Router: return whole(n.router, {c.moe.num_experts, H});
    case RankField::ExpertsGateUp:
    case RankField::ExpertsDown: {
      const int64_t E = c.moe.num_experts, EI = c.moe.expert_intermediate_size;
      const bool gate_up = t.field == RankField::ExpertsGateUp;
      std::vector<std::string> names;
      std::vector<std::vector<int64_t>> shapes;
      for (int e = 0; e < E; ++e) {
        const ExpertWeightNames x = n.expert(int(e));
        if (gate_up) {
          names.insert(names.end(), {x.gate, x.up});
          shapes.insert(shapes.end(), {{EI, H}, {EI, H}});
        } else {
          names.push_back(x.down);
          shapes.push_back({H, EI});
        }
      }
      std::vector<std::pair<int64_t, int64_t>> ranges;
      for (const auto& shape : shapes) ranges.emplace_back(0, shape[0]);
      return stacked_rows(names, shapes, ranges);
    }
  }
  fail("checkpoint: no tensor for {}", t.name());
}

}  // namespace turbine
