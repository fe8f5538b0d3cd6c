#include "model/awq_quantizer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "backend/backend.h"
#include "backend/batch_input.h"
#include "core/error.h"
#include "core/log.h"
#include "model/awq_format.h"
#include "model/awq_search.h"
#include "model/int4_groups.h"
#include "model/packed_qkv.h"
#include "model/rope.h"
#include "model/weight_names.h"

namespace turbine {

namespace {

using Floats = std::vector<float>;

Floats read_f32(const Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& shape) {
  const TensorView& v = ckpt.get(name, shape);
  Floats out(size_t(v.numel()));
  convert_to_f32(v.data, v.dtype, out.data(), out.size());
  return out;
}

std::string strip_weight(const std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

void check_options(const ModelConfig& config, const QuantizeOptions& options) {
  if (options.group_size <= 0) fail("--group-size must be positive, got {}", options.group_size);
  if (options.group_size % 8 != 0)
    fail("--group-size {}: turbine's 4-bit kernels take groups of a multiple of 8 channels", options.group_size);
  if (config.awq_group_size > 0) fail("the model is quantized already (config.json quantization_config)");
}

// A projection of a layer: its weight [n][k] is quantized.
struct Projection {
  std::string name;  // the checkpoint's "<...>.weight"
  int64_t n = 0, k = 0;
};

// What quantizing one layer writes in place of the source's tensors.
struct LayerOutputs {
  std::vector<Projection> projections;                     // each as .qweight, .qzeros and .scales
  std::vector<std::pair<std::string, int64_t>> rewritten;  // awq: norms and biases the scales fold into, fp32
};

LayerOutputs layer_outputs(const ModelConfig& c, const LayerWeightNames& nm, QuantMethod method) {
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t qn = int64_t(c.num_heads) * D, kvn = int64_t(c.num_kv_heads) * D;
  LayerOutputs out;
  if (nm.qkv_packed.empty())
    out.projections = {{nm.q, qn, H}, {nm.k, kvn, H}, {nm.v, kvn, H}};
  else
    out.projections = {{nm.qkv_packed, qn + 2 * kvn, H}};
  out.projections.insert(out.projections.end(), {{nm.o, H, qn}, {nm.gate, I, H}, {nm.up, I, H}, {nm.down, H, I}});
  if (method == QuantMethod::Awq) {
    out.rewritten = {{nm.attn_norm, H}, {nm.mlp_norm, H}};
    if (c.qkv_bias && nm.qkv_packed.empty()) out.rewritten.push_back({nm.v_bias, kvn});  // o_proj's scales fold in
    if (c.qkv_bias && !nm.qkv_packed.empty()) out.rewritten.push_back({nm.qkv_packed_bias, qn + 2 * kvn});
    if (c.mlp_bias) out.rewritten.push_back({nm.up_bias, I});
  }
  return out;
}

// AutoAWQ's three tensors in place of a projection's weight.
std::array<SafetensorsEntry, 3> quantized_entries(const Projection& p, int64_t group_size) {
  const std::string base = strip_weight(p.name);
  return {SafetensorsEntry{base + ".qweight", DType::I32, {p.k, p.n / 8}},
          SafetensorsEntry{base + ".qzeros", DType::I32, {p.k / group_size, p.n / 8}},
          SafetensorsEntry{base + ".scales", DType::F16, {p.k / group_size, p.n}}};
}

struct Layout {
  std::vector<SafetensorsEntry> entries;  // by name
  std::set<std::string> computed;         // the entries the quantizer writes; the others are copied
};

Layout plan_layout(const ModelConfig& c, const Checkpoint& ckpt, const QuantizeOptions& o) {
  check_options(c, o);
  std::map<std::string, SafetensorsEntry> by_name;
  for (const std::string& name : ckpt.names()) {
    const TensorView& v = ckpt.get(name);
    by_name[name] = SafetensorsEntry{name, v.dtype, v.shape};
  }
  Layout layout;
  const WeightNames names = weight_names(c.arch);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerOutputs outputs = layer_outputs(c, names.layer(l), o.method);
    for (const Projection& p : outputs.projections) {
      if (p.k % o.group_size != 0)
        fail("--group-size {} does not divide the {} input channels of {}", o.group_size, p.k, p.name);
      if (p.n % 8 != 0) fail("{}: {} output channels; the AWQ layout needs a multiple of 8", p.name, p.n);
      ckpt.get(p.name, {p.n, p.k});
      by_name.erase(p.name);
      for (const SafetensorsEntry& e : quantized_entries(p, o.group_size)) {
        by_name[e.name] = e;
        layout.computed.insert(e.name);
      }
    }
    for (const auto& [name, n] : outputs.rewritten) {
      ckpt.get(name, {n});
      by_name[name] = SafetensorsEntry{name, DType::F32, {n}};
      layout.computed.insert(name);
    }
  }
  for (auto& [name, e] : by_name) layout.entries.push_back(std::move(e));
  return layout;
}

// One linear layer being quantized: its weight [n][k] in fp32 (scaled in place by the searches) and,
// after the clipping search, its limits per (row, group).
struct Linear {
  std::string name;  // the checkpoint's "<...>.weight"
  int64_t n = 0, k = 0;
  Floats w;
  Floats clip;
};

Floats stack_rows(const std::vector<const Linear*>& parts) {
  Floats out;
  for (const Linear* p : parts) out.insert(out.end(), p->w.begin(), p->w.end());
  return out;
}

// Blocks of `block` values: block b of the result is block from[b] of `in`.
Floats gather_blocks(const Floats& in, int64_t block, const std::vector<int64_t>& from) {
  Floats out(in.size());
  for (size_t b = 0; b < from.size(); ++b)
    std::copy_n(in.begin() + from[b] * block, block, out.begin() + int64_t(b) * block);
  return out;
}

// The inverse: block to[b] of the result is block b of `in`.
Floats scatter_blocks(const Floats& in, int64_t block, const std::vector<int64_t>& to) {
  Floats out(in.size());
  for (size_t b = 0; b < to.size(); ++b)
    std::copy_n(in.begin() + int64_t(b) * block, block, out.begin() + to[b] * block);
  return out;
}

void scale_columns(Linear& l, const Floats& s) {
  for (int64_t r = 0; r < l.n; ++r)
    for (int64_t c = 0; c < l.k; ++c) l.w[size_t(r * l.k + c)] *= s[size_t(c)];
}

// The calibration forward of one decoder layer at a time, in fp32 on a CPU backend (the linears on
// `products`): the calibration sequences as one batch of prefills into a one-layer KV cache.
class CalibrationForward {
 public:
  CalibrationForward(Backend& backend, Backend& products, const ModelConfig& c, int64_t sequences, int64_t sequence_len)
      : b_(backend), products_(products), c_(c), tokens_(sequences * sequence_len) {
    constexpr int kBlockLen = 16;
    const int64_t blocks_per_sequence = (sequence_len + kBlockLen - 1) / kBlockLen;
    BatchInput input;
    input.token_ids.assign(size_t(tokens_), 0);
    for (int64_t s = 0; s < sequences; ++s) {
      SequenceInput seq;
      seq.num_tokens = int32_t(sequence_len);
      seq.logits = false;
      for (int64_t i = 0; i < blocks_per_sequence; ++i) seq.block_table.push_back(int32_t(s * blocks_per_sequence + i));
      input.sequences.push_back(std::move(seq));
    }
    KvCacheSpec spec;
    spec.num_layers = 1;
    spec.num_blocks = int(sequences * blocks_per_sequence);
    spec.block_len = kBlockLen;
    spec.num_kv_heads = c.num_kv_heads;
    spec.head_dim = c.head_dim;
    spec.dtype = DType::F32;
    cache_ = b_.allocate_kv_cache(spec);
    plan_ = plan_batch(input, kBlockLen, spec.num_blocks, c.sliding_window);
    meta_ = b_.upload_batch(plan_);
    rope_ = make_rope_table(c, int32_t(sequence_len));
    shape_ = AttentionShape{c.num_heads, c.num_kv_heads, c.head_dim, float(1.0 / std::sqrt(double(c.head_dim))),
                            c.sliding_window};
  }

  int64_t tokens() const { return tokens_; }

  Tensor up(const Floats& v, std::vector<int64_t> shape, Backend* on = nullptr) {
    return (on ? *on : b_).upload(v.data(), DType::F32, std::move(shape), DType::F32);
  }

  // x [T][k] times w [n][k]^T (+ bias).
  Floats linear(const Floats& x, const Floats& w, int64_t n, int64_t k, const Floats* bias) {
    Backend& p = products_;
    Tensor out = p.empty(DType::F32, {tokens_, n});
    const Tensor tb = bias ? up(*bias, {n}, &p) : Tensor{};
    p.linear(up(x, {tokens_, k}, &p), up(w, {n, k}, &p), bias ? &tb : nullptr, out);
    return p.download_f32(out);
  }

  Floats rms_norm(const Floats& x, const Floats& weight) {
    const int64_t H = c_.hidden_size;
    Tensor out = b_.empty(DType::F32, {tokens_, H});
    b_.rms_norm(up(x, {tokens_, H}), up(weight, {H}), float(c_.rms_norm_eps), out);
    return b_.download_f32(out);
  }

  // Causal attention of each sequence over itself from the fused projection qkv [T][(Hq + 2 Hkv) D].
  Floats attention(const Floats& qkv, const Floats* q_norm, const Floats* k_norm) {
    const int64_t D = c_.head_dim, width = int64_t(c_.num_heads + 2 * c_.num_kv_heads) * D, qw = c_.num_heads * D;
    Tensor q = b_.empty(DType::F32, {tokens_, qw}), out = b_.empty(DType::F32, {tokens_, qw});
    const Tensor tq = q_norm ? up(*q_norm, {D}) : Tensor{}, tk = k_norm ? up(*k_norm, {D}) : Tensor{};
    b_.qkv_rope_store(up(qkv, {tokens_, width}), q_norm ? &tq : nullptr, k_norm ? &tk : nullptr, float(c_.rms_norm_eps),
                      rope_, shape_, cache_, 0, meta_, q);
    b_.attention(q, cache_, 0, meta_, shape_, out);
    return b_.download_f32(out);
  }

 private:
  Backend& b_;
  Backend& products_;
  const ModelConfig& c_;
  int64_t tokens_;
  KvCache cache_;
  BatchPlan plan_;
  BatchMeta meta_;
  RopeTable rope_;
  AttentionShape shape_;
};

class Quantizer {
 public:
  Quantizer(const ModelConfig& c, const Checkpoint& ckpt, const QuantizeOptions& o, const QuantizedTensorSink& sink)
      : c_(c), ckpt_(ckpt), o_(o), sink_(sink), names_(weight_names(c.arch)), pool_(o.threads) {
    BackendOptions bo;
    bo.device = "cpu";
    bo.threads = o.threads;
    bo.memory_budget = size_t(1) << 34;
    backend_ = make_backend(bo);
    if (o.method == QuantMethod::Awq && o.device != "cpu") {
      BackendOptions go;
      go.device = o.device;
      go.dtype = DType::BF16;  // the products are fp32 whatever the compute dtype
      products_ = make_backend(go);
    }
  }

  void run(const Layout& layout, const std::vector<int32_t>& calibration, const QuantizeProgress& progress) {
    std::unique_ptr<CalibrationForward> forward;
    Floats x;  // the residual stream entering the layer, [T][H]
    if (o_.method == QuantMethod::Awq) {
      const int64_t L = std::min<int64_t>(o_.sequence_len, int64_t(calibration.size()));
      if (int64_t(calibration.size()) < kMinCalibrationTokens || L <= 0)
        fail("the calibration text gives {} tokens; AWQ needs at least {}", calibration.size(), kMinCalibrationTokens);
      const int64_t S = int64_t(calibration.size()) / L;
      forward = std::make_unique<CalibrationForward>(*backend_, products(), c_, S, L);
      x = embed(std::vector<int32_t>(calibration.begin(), calibration.begin() + S * L));
    }
    for (const SafetensorsEntry& e : layout.entries)
      if (!layout.computed.count(e.name)) sink_(e, ckpt_.get(e.name).data);
    for (int l = 0; l < c_.num_layers; ++l) {
      quantize_layer(l, forward.get(), x);
      if (progress) progress(l + 1, c_.num_layers);
    }
  }

 private:
  Floats embed(const std::vector<int32_t>& ids) {
    const int64_t H = c_.hidden_size, V = c_.vocab_size;
    const TensorView& table = ckpt_.get(names_.embed_tokens, {V, H});
    const size_t row_bytes = size_t(H) * dtype_size(table.dtype);
    Floats x(ids.size() * size_t(H));
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= V) fail("calibration token id {} is outside the vocabulary", ids[i]);
      convert_to_f32(static_cast<const char*>(table.data) + size_t(ids[i]) * row_bytes, table.dtype,
                     x.data() + i * size_t(H), size_t(H));
    }
    return x;
  }

  // Its group size and outputs were checked by plan_layout.
  Linear load_linear(const std::string& name, int64_t n, int64_t k) {
    return Linear{name, n, k, read_f32(ckpt_, name, {n, k}), {}};
  }

  // q, k and v of the layer, apart: InternLM2's packed wqkv (model/packed_qkv.h) is split by heads so
  // that it is searched like them.
  std::array<Linear, 3> load_qkv(const LayerWeightNames& nm) {
    const int64_t H = c_.hidden_size, D = c_.head_dim;
    const int64_t qn = int64_t(c_.num_heads) * D, kvn = int64_t(c_.num_kv_heads) * D;
    if (nm.qkv_packed.empty()) return {load_linear(nm.q, qn, H), load_linear(nm.k, kvn, H), load_linear(nm.v, kvn, H)};
    const Linear all = load_linear(nm.qkv_packed, qn + 2 * kvn, H);
    const Floats fused = gather_blocks(all.w, D * H, unpack_qkv_blocks(c_.num_heads, c_.num_kv_heads));
    const auto part = [&](int64_t begin, int64_t n) {
      return Linear{nm.qkv_packed, n, H, Floats(fused.begin() + begin * H, fused.begin() + (begin + n) * H), {}};
    };
    return {part(0, qn), part(qn, kvn), part(qn + kvn, kvn)};
  }

  // The q|k|v bias in the fused order (InternLM2's packed one reordered).
  Floats load_qkv_bias(const LayerWeightNames& nm) {
    const int64_t D = c_.head_dim, qn = int64_t(c_.num_heads) * D, kvn = int64_t(c_.num_kv_heads) * D;
    if (nm.qkv_packed.empty()) return stack_bias({{nm.q_bias, qn}, {nm.k_bias, kvn}, {nm.v_bias, kvn}});
    return gather_blocks(read_f32(ckpt_, nm.qkv_packed_bias, {qn + 2 * kvn}), D,
                         unpack_qkv_blocks(c_.num_heads, c_.num_kv_heads));
  }

  // q, k and v quantized under their own names, or packed back into one wqkv (AutoAWQ writes InternLM2's
  // wqkv as one layer: its rows in the packed order, quantized per row like the parts).
  void put_qkv(const LayerWeightNames& nm, const Linear& q, const Linear& k, const Linear& v) {
    if (nm.qkv_packed.empty()) {
      for (const Linear* l : {&q, &k, &v}) put_quantized(*l);
      return;
    }
    const int64_t D = c_.head_dim, H = c_.hidden_size, groups = H / o_.group_size;
    const std::vector<int64_t> to = unpack_qkv_blocks(c_.num_heads, c_.num_kv_heads);
    Linear all{nm.qkv_packed, q.n + k.n + v.n, H, scatter_blocks(stack_rows({&q, &k, &v}), D * H, to), {}};
    if (!q.clip.empty()) {
      Floats clip = q.clip;
      clip.insert(clip.end(), k.clip.begin(), k.clip.end());
      clip.insert(clip.end(), v.clip.begin(), v.clip.end());
      all.clip = scatter_blocks(clip, D * groups, to);
    }
    put_quantized(all);
  }

  void put_qkv_bias(const LayerWeightNames& nm, const Floats& qkv_bias) {
    const int64_t D = c_.head_dim, qn = int64_t(c_.num_heads) * D, kvn = int64_t(c_.num_kv_heads) * D;
    if (nm.qkv_packed.empty())  // only v's bias changed (the fold of o_proj's scales)
      put_f32(nm.v_bias, Floats(qkv_bias.begin() + qn + kvn, qkv_bias.end()));
    else
      put_f32(nm.qkv_packed_bias, scatter_blocks(qkv_bias, D, unpack_qkv_blocks(c_.num_heads, c_.num_kv_heads)));
  }

  Floats optional(const std::string& name, int64_t n, bool present) {
    return present ? read_f32(ckpt_, name, {n}) : Floats{};
  }

  template <typename T>
  void put(const SafetensorsEntry& entry, const std::vector<T>& v) {
    if (v.size() * sizeof(T) != entry.bytes())
      throw std::logic_error(
          fmt::format("quantize: {} is {} bytes, not {}", entry.name, v.size() * sizeof(T), entry.bytes()));
    sink_(entry, v.data());
  }

  void put_f32(const std::string& name, const Floats& v) {
    put(SafetensorsEntry{name, DType::F32, {int64_t(v.size())}}, v);
  }

  void put_quantized(const Linear& l) {
    const AwqTensors t = pack_awq(quantize_int4(l.w, l.n, l.k, o_.group_size, l.clip));
    const auto entries = quantized_entries(Projection{l.name, l.n, l.k}, o_.group_size);
    put(entries[0], t.qweight);
    put(entries[1], t.qzeros);
    put(entries[2], t.scales);
  }

  // Searches the scales (and, with them, the clipping) of the layers sharing input statistics `st`,
  // folds the scales into the layers (columns times s), sets each layer's clipping and returns the scales
  // (all ones when no alpha helps; `grid` 1 tries alpha 0 alone). Layers whose `clip` flag is false are
  // rounded unclipped.
  Floats scale_group(const ChannelStats& st, const std::vector<std::pair<Linear*, bool>>& layers, int grid = 20) {
    int64_t n = 0;
    std::vector<const Linear*> parts;
    std::vector<uint8_t> clipped;
    for (const auto& [l, clip] : layers) {
      parts.push_back(l);
      n += l->n;
      clipped.insert(clipped.end(), size_t(l->n), uint8_t(clip));
    }
    const ScaleSearch s = search_awq_scales(SearchBackends{products(), *backend_}, st, stack_rows(parts), n,
                                            o_.group_size, clipped, pool_, grid);
    log(LogLevel::Debug, "awq: {}: alpha {:.2f}, output error {:.4g} (plain rounding {:.4g})", layers[0].first->name,
        s.alpha, s.error, s.plain_error);
    const int64_t groups_per_row = st.k / o_.group_size;
    int64_t row = 0;
    for (const auto& [l, clip] : layers) {
      scale_columns(*l, s.scales);
      l->clip.assign(s.clip.begin() + row * groups_per_row, s.clip.begin() + (row + l->n) * groups_per_row);
      row += l->n;
    }
    return s.scales;
  }

  void quantize_layer(int layer, CalibrationForward* forward, Floats& x) {
    const ModelConfig& c = c_;
    const LayerWeightNames nm = names_.layer(layer);
    const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
    const int64_t qn = int64_t(c.num_heads) * D, kvn = int64_t(c.num_kv_heads) * D;
    if (!forward) {  // round to nearest: no calibration, each weight alone (one in memory at a time)
      for (const Projection& p : layer_outputs(c, nm, o_.method).projections) {
        if (p.name != nm.qkv_packed) {
          put_quantized(load_linear(p.name, p.n, p.k));
          continue;
        }
        const std::array<Linear, 3> parts = load_qkv(nm);
        put_qkv(nm, parts[0], parts[1], parts[2]);
      }
      return;
    }
    std::array<Linear, 3> qkv_parts = load_qkv(nm);
    Linear &q = qkv_parts[0], &k = qkv_parts[1], &v = qkv_parts[2];
    Linear o = load_linear(nm.o, H, qn);
    Linear gate = load_linear(nm.gate, I, H), upl = load_linear(nm.up, I, H), down = load_linear(nm.down, H, I);
    Floats attn_norm = read_f32(ckpt_, nm.attn_norm, {H}), mlp_norm = read_f32(ckpt_, nm.mlp_norm, {H});
    Floats qkv_bias = c.qkv_bias ? load_qkv_bias(nm) : Floats{};
    Floats o_bias = optional(nm.o_bias, H, c.o_bias);
    Floats q_norm = optional(nm.q_norm, D, c.qk_norm), k_norm = optional(nm.k_norm, D, c.qk_norm);
    Floats gate_bias = optional(nm.gate_bias, I, c.mlp_bias), up_bias = optional(nm.up_bias, I, c.mlp_bias);
    Floats down_bias = optional(nm.down_bias, H, c.mlp_bias);
    const int64_t T = forward->tokens();

    // The full-precision layer, keeping each linear group's input statistics.
    const Floats xn = forward->rms_norm(x, attn_norm);
    const ChannelStats st_attn_in = channel_stats(products(), xn, T, H);
    const Floats qkv = forward->linear(xn, stack_rows({&q, &k, &v}), qn + 2 * kvn, H, c.qkv_bias ? &qkv_bias : nullptr);
    const Floats attn = forward->attention(qkv, c.qk_norm ? &q_norm : nullptr, c.qk_norm ? &k_norm : nullptr);
    const ChannelStats st_o_in = channel_stats(products(), attn, T, qn);
    const Floats proj = forward->linear(attn, o.w, H, qn, c.o_bias ? &o_bias : nullptr);
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    const Floats xn2 = forward->rms_norm(x, mlp_norm);
    const ChannelStats st_mlp_in = channel_stats(products(), xn2, T, H);
    Floats gu = forward->linear(xn2, stack_rows({&gate, &upl}), 2 * I, H, nullptr);
    Floats act(size_t(T * I));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < I; ++i) {
        const float g = gu[size_t(t * 2 * I + i)] + (c.mlp_bias ? gate_bias[size_t(i)] : 0.0f);
        const float u = gu[size_t(t * 2 * I + I + i)] + (c.mlp_bias ? up_bias[size_t(i)] : 0.0f);
        act[size_t(t * I + i)] = g / (1.0f + std::exp(-g)) * u;
      }
    gu = Floats();
    const ChannelStats st_down_in = channel_stats(products(), act, T, I);
    const Floats mlp_out = forward->linear(act, down.w, H, I, c.mlp_bias ? &down_bias : nullptr);
    for (size_t i = 0; i < x.size(); ++i) x[i] += mlp_out[i];

    // Scales, folded into the op before each group (the function stays the same). A fold into the rows
    // of v_proj or up_proj comes before their own group's search, so that it sees them as they end up.
    if (kvn == qn) {  // o_proj's inputs are v_proj's outputs one to one
      const Floats s_o = scale_group(st_o_in, {{&o, true}});
      for (int64_t r = 0; r < kvn; ++r) {
        for (int64_t col = 0; col < H; ++col) v.w[size_t(r * H + col)] /= s_o[size_t(r)];
        if (c.qkv_bias) qkv_bias[size_t(qn + kvn + r)] /= s_o[size_t(r)];
      }
    } else {
      scale_group(st_o_in, {{&o, true}}, 1);  // alpha 0 alone (scales of one): nothing to fold them into
    }
    // q and k stay unclipped: attention scores are sensitive to their range.
    const Floats s_attn = scale_group(st_attn_in, {{&q, false}, {&k, false}, {&v, true}});
    for (int64_t i = 0; i < H; ++i) attn_norm[size_t(i)] /= s_attn[size_t(i)];
    const Floats s_down = scale_group(st_down_in, {{&down, true}});
    for (int64_t r = 0; r < I; ++r) {
      for (int64_t col = 0; col < H; ++col) upl.w[size_t(r * H + col)] /= s_down[size_t(r)];
      if (c.mlp_bias) up_bias[size_t(r)] /= s_down[size_t(r)];
    }
    const Floats s_mlp = scale_group(st_mlp_in, {{&gate, true}, {&upl, true}});
    for (int64_t i = 0; i < H; ++i) mlp_norm[size_t(i)] /= s_mlp[size_t(i)];

    put_qkv(nm, q, k, v);
    for (const Linear* l : {&o, &gate, &upl, &down}) put_quantized(*l);
    put_f32(nm.attn_norm, attn_norm);
    put_f32(nm.mlp_norm, mlp_norm);
    if (c.qkv_bias) put_qkv_bias(nm, qkv_bias);
    if (c.mlp_bias) put_f32(nm.up_bias, up_bias);
  }

  Floats stack_bias(const std::vector<std::pair<std::string, int64_t>>& parts) {
    Floats out;
    for (const auto& [name, n] : parts) {
      const Floats b = read_f32(ckpt_, name, {n});
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }

  const ModelConfig& c_;
  const Checkpoint& ckpt_;
  QuantizeOptions o_;
  const QuantizedTensorSink& sink_;
  WeightNames names_;
  Backend& products() { return products_ ? *products_ : *backend_; }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Backend> products_;  // QuantizeOptions::device's backend, when not the CPU
  ThreadPool pool_;                    // the clipping searches'
};

}  // namespace

std::vector<SafetensorsEntry> quantized_checkpoint_layout(const ModelConfig& config, const Checkpoint& checkpoint,
                                                          const QuantizeOptions& options) {
  return plan_layout(config, checkpoint, options).entries;
}

void quantize_checkpoint(const ModelConfig& config, const Checkpoint& checkpoint,
                         const std::vector<int32_t>& calibration, const QuantizeOptions& options,
                         const QuantizedTensorSink& sink, const QuantizeProgress& progress) {
  const Layout layout = plan_layout(config, checkpoint, options);
  Quantizer q(config, checkpoint, options, sink);
  q.run(layout, calibration, progress);
}

}  // namespace turbine
