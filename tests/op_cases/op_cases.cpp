#include "op_cases.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>

#include "backend/batch_input.h"
#include "core/dtype.h"
#include "core/error.h"

namespace turbine::test {
namespace {

const char* op_name(Op op) {
  switch (op) {
    case Op::Linear: return "linear";
    case Op::RmsNorm: return "rms_norm";
    case Op::AddRmsNorm: return "add_rms_norm";
    case Op::SiluMul: return "silu_mul";
    case Op::Embedding: return "embedding";
    case Op::GatherRows: return "gather_rows";
    case Op::QkvRopeStore: return "qkv_rope_store";
    case Op::Attention: return "attention";
    case Op::NormLinear: return "norm_linear";
    case Op::ArgmaxRows: return "argmax_rows";
    case Op::Moe: return "moe";
  }
  return "?";
}

bool attention_side(Op op) { return op == Op::QkvRopeStore || op == Op::Attention; }

// Everything one prepared case holds on its backend.
struct State {
  std::vector<Tensor> inputs, weights, outputs;
  Tensor bias, ids;
  ResidualStream residual;
  Tensor normed;
  BatchPlan plan, fill_plan;
  BatchMeta meta, fill_meta;
  KvCache cache;
  RopeTable rope;
  AttentionShape shape;
  int next_weight = 0;
};

constexpr size_t kRandomDraws = (size_t(1) << 22) + 7;  // Inputs::random's fresh values at most

class Inputs {
 public:
  Inputs(Backend& b, uint32_t seed, DType round_to) : b_(b), rng_(seed), round_to_(round_to) {}

  // Uniform values in [lo, hi) rounded to round_to on every backend (an fp32 reference then holds the
  // values a 16-bit backend holds: a quantized KV cache would turn a rounding apart into a code apart),
  // uploaded in the backend's compute dtype.
  // Past kRandomDraws values the draws repeat: the timing table's batch-128 cache fill (~10^9 values)
  // would otherwise take the host minutes, while every test input stays fresh draws.
  Tensor random(std::vector<int64_t> shape, float lo = -1.0f, float hi = 1.0f) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(std::min<size_t>(size_t(n), kRandomDraws));
    for (auto& x : v) x = dist(rng_);
    round(v);
    const size_t drawn = v.size();
    v.resize(size_t(n));
    for (size_t at = drawn; at < v.size(); at += drawn)
      std::copy_n(v.begin(), std::min(drawn, v.size() - at), v.begin() + int64_t(at));
    return b_.upload(v.data(), DType::F32, std::move(shape), b_.compute_dtype());
  }
  // Values uploaded as `dtype`; rounded to round_to unless they are to stay fp32 (router logits).
  Tensor upload(std::vector<float> v, std::vector<int64_t> shape, DType dtype) {
    if (dtype != DType::F32) round(v);
    return b_.upload(v.data(), DType::F32, std::move(shape), dtype);
  }
  // A matrix weight (linear, embedding table): rounded to round_to on every backend (the reference
  // too, so that it multiplies the same values), uploaded in the type the backend keeps a checkpoint
  // of that type in (16 bits on a cpu backend that keeps checkpoint weights, fp32 on the reference).
  Tensor weight(std::vector<int64_t> shape, float lo = -1.0f, float hi = 1.0f) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng_);
    round(v);
    return b_.upload(v.data(), DType::F32, std::move(shape), b_.weight_dtype(round_to_));
  }
  Tensor ids(int64_t n, int64_t below) {
    std::uniform_int_distribution<int32_t> dist(0, int32_t(below - 1));
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng_);
    return b_.upload(v.data(), DType::I32, {n}, DType::I32);
  }
  std::mt19937& rng() { return rng_; }

 private:
  void round(std::vector<float>& v) const {
    if (round_to_ == DType::F32) return;
    std::vector<uint16_t> half(v.size());
    convert_from_f32(v.data(), round_to_, half.data(), v.size());
    convert_to_f32(half.data(), round_to_, v.data(), v.size());
  }

  Backend& b_;
  std::mt19937 rng_;
  DType round_to_;
};

// The batch of an attention-side case: each sequence owns shuffled, disjoint blocks of the cache.
// `fill` (when not null): the batch that writes every position of every sequence into those blocks.
BatchPlan plan_for(const OpCase& c, std::mt19937& rng, int* num_blocks, BatchPlan* fill = nullptr) {
  int needed = 0;
  for (const auto& [context, tokens] : c.seqs) needed += (context + tokens + c.block_len - 1) / c.block_len;
  *num_blocks = needed + 3;
  std::vector<int32_t> free_blocks(static_cast<size_t>(*num_blocks));
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
  BatchInput in, all;
  size_t next = 0;
  for (const auto& [context, tokens] : c.seqs) {
    SequenceInput s;
    s.context_len = context;
    s.num_tokens = tokens;
    for (int b = 0; b * c.block_len < context + tokens; ++b) s.block_table.push_back(free_blocks.at(next++));
    in.sequences.push_back(s);
    in.token_ids.insert(in.token_ids.end(), size_t(tokens), 1);
    s.context_len = 0;
    s.num_tokens = context + tokens;
    all.sequences.push_back(s);
    all.token_ids.insert(all.token_ids.end(), size_t(context + tokens), 1);
  }
  if (fill) *fill = plan_batch(all, c.block_len, *num_blocks, c.window);
  return plan_batch(in, c.block_len, *num_blocks, c.window);
}

std::vector<float> download_all(Backend& b, const std::vector<Tensor>& tensors) {
  std::vector<float> out;
  for (const auto& t : tensors) {
    const auto v = b.download_f32(t);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

std::string OpCase::name() const {
  std::string s = op_name(op);
  if (attention_side(op)) {
    s += " heads=" + std::to_string(heads) + "/" + std::to_string(kv_heads) + " d=" + std::to_string(head_dim) +
         " block=" + std::to_string(block_len) + " seqs=";
    const bool same = std::all_of(seqs.begin(), seqs.end(), [&](const auto& q) { return q == seqs[0]; });
    if (same && seqs.size() > 1) s += std::to_string(seqs.size()) + "x";
    for (size_t i = 0; i < (same ? std::min<size_t>(seqs.size(), 1) : seqs.size()); ++i) {
      if (i) s += ",";
      s += std::to_string(seqs[i].first) + "+" + std::to_string(seqs[i].second);
    }
    if (window) s += " window=" + std::to_string(window);
    if (qk_norm) s += " qk-norm";
    if (kv != KvFormat::Dense) s += std::string(" kv=") + std::string(kv_format_name(kv));
    return s;
  }
  s += " rows=" + std::to_string(rows) + " n=" + std::to_string(n);
  if (k) s += " k=" + std::to_string(k);
  if (bias) s += " bias";
  if (f32_out) s += " f32-out";
  if (op == Op::Moe) s += " experts=" + std::to_string(experts) + " top=" + std::to_string(top_k);
  return s;
}

std::vector<OpCase> op_test_cases() {
  std::vector<OpCase> cases;
  auto linear = [&](Op op, int64_t rows, int64_t n, int64_t k, bool bias, bool f32_out) {
    OpCase c;
    c.op = op, c.rows = rows, c.n = n, c.k = k, c.bias = bias, c.f32_out = f32_out;
    cases.push_back(c);
  };
  // Token counts on each side of the GEMM dispatch limits (skinny 1-2, wgmma up to 48, cuBLASLt).
  for (int64_t rows : {1, 2, 3, 17, 48, 49, 130}) linear(Op::Linear, rows, 96, 64, false, false);
  linear(Op::Linear, 1, 200, 72, true, false);
  linear(Op::Linear, 5, 200, 72, true, false);
  linear(Op::Linear, 2, 1000, 64, false, true);  // logits
  linear(Op::Linear, 33, 1000, 64, false, true);
  linear(Op::Linear, 3, 50, 36, false, false);  // K not a multiple of 8
  // The cpu tiles (1x8, 2x4, 3x4, 4x3 tokens x weight rows) with N and K off every tile and vector width.
  linear(Op::Linear, 1, 50, 36, true, false);
  linear(Op::Linear, 17, 101, 43, false, false);
  linear(Op::Linear, 6, 29, 9, false, true);
  linear(Op::Linear, 300, 40, 300, true, false);  // cpu: 300 tokens in slabs of 96 (the last one short)
  for (int64_t rows : {1, 2, 7}) linear(Op::NormLinear, rows, 136, 64, rows == 1, false);
  auto rowwise = [&](Op op, int64_t rows, int64_t n, int64_t k = 0) {
    OpCase c;
    c.op = op, c.rows = rows, c.n = n, c.k = k;
    cases.push_back(c);
  };
  for (int64_t n : {64, 100, 4096}) {
    rowwise(Op::RmsNorm, 5, n);
    rowwise(Op::AddRmsNorm, 5, n);
  }
  rowwise(Op::SiluMul, 7, 96);
  rowwise(Op::SiluMul, 3, 44);
  rowwise(Op::Embedding, 9, 300, 40);
  rowwise(Op::GatherRows, 4, 72, 11);
  rowwise(Op::ArgmaxRows, 3, 32000);
  rowwise(Op::ArgmaxRows, 2, 77);
  auto attention = [&](Op op, int heads, int kv_heads, int d, int block_len, std::vector<std::pair<int, int>> seqs,
                       int window = 0, bool qk_norm = false) {
    OpCase c;
    c.op = op, c.heads = heads, c.kv_heads = kv_heads, c.head_dim = d, c.block_len = block_len;
    c.seqs = std::move(seqs), c.window = window, c.qk_norm = qk_norm;
    cases.push_back(c);
  };
  // Experts some tokens never pick, widths off the 16-byte path, many tokens per expert.
  for (const auto& [rows, hidden, inter, experts, top_k] :
       {std::tuple{1, 64, 32, 8, 2}, {5, 30, 18, 5, 2}, {40, 64, 48, 16, 4}, {3, 128, 64, 64, 8}}) {
    OpCase c;
    c.op = Op::Moe, c.rows = rows, c.n = hidden, c.k = inter, c.experts = experts, c.top_k = top_k;
    cases.push_back(c);
  }
  attention(Op::QkvRopeStore, 4, 2, 64, 16, {{0, 5}, {20, 1}});
  attention(Op::QkvRopeStore, 2, 1, 96, 8, {{3, 2}}, 0, true);
  // Decode only (the decode kernel, split-K over a long context), prefill only (the flash kernel),
  // mixed, GQA 8, head_dim 96 (the general kernel), sliding window.
  attention(Op::Attention, 4, 4, 64, 16, {{0, 1}, {37, 1}, {600, 1}});
  attention(Op::Attention, 2, 1, 32, 8, {{5, 3}, {0, 9}});  // cpu: the head_dim-32 kernel
  attention(Op::Attention, 8, 2, 128, 16, {{0, 150}, {40, 3}});
  attention(Op::Attention, 8, 1, 128, 32, {{100, 1}, {0, 33}, {5, 1}});
  attention(Op::Attention, 4, 2, 96, 8, {{10, 4}, {70, 1}});
  attention(Op::Attention, 4, 2, 64, 16, {{200, 1}, {0, 40}}, 32);
  // Quantized caches: head_dim 64 and 128, GQA, block lengths that are no power of two, 1 / 3 / 17 new
  // tokens, several sequences, a sliding window.
  for (KvFormat kv : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    attention(Op::Attention, 4, 2, 64, 12, {{0, 17}, {40, 1}, {21, 3}});
    cases.back().kv = kv;
    attention(Op::Attention, 8, 2, 128, 10, {{0, 3}, {100, 1}, {7, 17}});
    cases.back().kv = kv;
    attention(Op::Attention, 4, 1, 64, 16, {{60, 1}, {0, 40}}, 24);
    cases.back().kv = kv;
  }
  return cases;
}

std::vector<OpCase> op_bench_cases() {
  std::vector<OpCase> cases;
  struct Shape {
    int64_t n, k;
    bool f32_out;
  };
  const Shape shapes[] = {{12288, 4096, false},
                          {4096, 4096, false},
                          {22016, 4096, false},
                          {4096, 11008, false},
                          {32000, 4096, true}};  // qkv, o, gate_up, down, lm_head of Llama-2-7B
  for (const auto& s : shapes)
    for (int64_t rows : {1, 2, 4, 8, 16, 32, 64}) {
      OpCase c;
      c.op = Op::Linear, c.rows = rows, c.n = s.n, c.k = s.k, c.f32_out = s.f32_out;
      cases.push_back(c);
    }
  for (int64_t rows : {1, 64, 2048}) {
    OpCase c;
    c.op = Op::RmsNorm, c.rows = rows, c.n = 4096;
    cases.push_back(c);
    c.op = Op::SiluMul, c.n = 11008;
    cases.push_back(c);
  }
  for (int batch : {1, 16, 64}) {
    OpCase c;
    c.op = Op::Attention, c.heads = 32, c.kv_heads = 32, c.head_dim = 128, c.block_len = 64;
    c.seqs.assign(size_t(batch), {512, 1});
    cases.push_back(c);
  }
  // bench throughput's decode steps: batch 128 at a context of ~640, on each cache format.
  for (KvFormat kv : {KvFormat::Dense, KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    OpCase c;
    c.op = Op::Attention, c.heads = 32, c.kv_heads = 32, c.head_dim = 128, c.block_len = 64, c.kv = kv;
    c.seqs.assign(128, {640, 1});
    cases.push_back(c);
  }
  // GQA decode (Llama-3-8B's 32 query heads over 8 kv heads): batch 64 at 1024 positions.
  for (KvFormat kv : {KvFormat::Dense, KvFormat::Int8}) {
    OpCase c;
    c.op = Op::Attention, c.heads = 32, c.kv_heads = 8, c.head_dim = 128, c.block_len = 64, c.kv = kv;
    c.seqs.assign(64, {1024, 1});
    cases.push_back(c);
  }
  for (int64_t rows : {1, 16, 64, 2048}) {  // Qwen3-30B-A3B's experts
    OpCase c;
    c.op = Op::Moe, c.rows = rows, c.n = 2048, c.k = 768, c.experts = 128, c.top_k = 8;
    cases.push_back(c);
  }
  OpCase prefill;
  prefill.op = Op::Attention, prefill.heads = 32, prefill.kv_heads = 32, prefill.head_dim = 128;
  prefill.block_len = 64, prefill.seqs = {{0, 2048}};
  cases.push_back(prefill);
  prefill.kv = KvFormat::Int8;  // the flash kernel on a quantized cache, or the general one
  cases.push_back(prefill);
  return cases;
}

PreparedOp prepare_op(Backend& b, const OpCase& c, uint32_t seed, DType round_to, int weight_copies) {
  auto st = std::make_shared<State>();
  Inputs in(b, seed, round_to);
  const DType dt = b.compute_dtype();
  PreparedOp p;
  p.keep_alive = st;
  Backend* be = &b;
  State* s = st.get();
  p.outputs = [be, s] { return download_all(*be, s->outputs); };
  switch (c.op) {
    case Op::Linear:
    case Op::NormLinear: {
      const int copies = std::max(weight_copies, 1);
      for (int i = 0; i < copies; ++i) s->weights.push_back(in.weight({c.n, c.k}, -0.2f, 0.2f));
      if (c.bias) s->bias = in.random({c.n});
      s->outputs.push_back(b.empty(c.f32_out ? DType::F32 : dt, {c.rows, c.n}));
      p.bytes = double(c.n) * c.k * dtype_size(s->weights[0].dtype);
      if (c.op == Op::Linear) {
        s->inputs.push_back(in.random({c.rows, c.k}));
        p.run = [be, s, copies] {
          const Tensor& w = s->weights[size_t(s->next_weight++ % copies)];
          be->linear(s->inputs[0], w, s->bias.defined() ? &s->bias : nullptr, s->outputs[0]);
        };
        break;
      }
      // The pre-norm's residual is updated in place: a run starts from the same values each time.
      s->inputs.push_back(in.random({c.rows, c.k}));      // residual
      s->inputs.push_back(in.random({c.rows, c.k}));      // delta
      s->inputs.push_back(in.random({c.k}, 0.5f, 1.5f));  // norm weight
      s->residual = {b.empty(dt, {c.rows, c.k}), b.empty(dt, {c.rows, c.k})};
      s->normed = b.empty(dt, {c.rows, c.k});
      const auto residual0 = b.download_f32(s->inputs[0]);
      p.run = [be, s, residual0] {
        s->residual.current = be->upload(residual0.data(), DType::F32, s->residual.current.shape, be->compute_dtype());
        be->norm_linear(PreNorm{s->residual, &s->inputs[1], s->inputs[2], 1e-5f, s->normed}, s->weights[0],
                        s->bias.defined() ? &s->bias : nullptr, s->outputs[0]);
      };
      p.outputs = [be, s] {
        auto out = be->download_f32(s->outputs[0]);
        const auto res = be->download_f32(s->residual.current);
        out.insert(out.end(), res.begin(), res.end());
        return out;
      };
      break;
    }
    case Op::RmsNorm:
    case Op::AddRmsNorm: {
      s->inputs.push_back(in.random({c.rows, c.n}));
      s->inputs.push_back(in.random({c.n}, 0.5f, 1.5f));
      s->outputs.push_back(b.empty(dt, {c.rows, c.n}));
      if (c.op == Op::RmsNorm) {
        p.run = [be, s] { be->rms_norm(s->inputs[0], s->inputs[1], 1e-5f, s->outputs[0]); };
        break;
      }
      const auto residual0 = b.download_f32(in.random({c.rows, c.n}));
      s->outputs.push_back(Tensor{});
      p.run = [be, s, residual0] {
        s->outputs[1] = be->upload(residual0.data(), DType::F32, s->outputs[0].shape, be->compute_dtype());
        be->add_rms_norm(s->outputs[1], s->inputs[0], s->inputs[1], 1e-6f, s->outputs[0]);
      };
      break;
    }
    case Op::SiluMul:
      s->inputs.push_back(in.random({c.rows, 2 * c.n}, -4.0f, 4.0f));
      s->outputs.push_back(b.empty(dt, {c.rows, c.n}));
      p.run = [be, s] { be->silu_mul(s->inputs[0], s->outputs[0]); };
      break;
    case Op::Embedding:
      s->inputs.push_back(in.weight({c.n, c.k}));
      s->ids = in.ids(c.rows, c.n);
      s->outputs.push_back(b.empty(dt, {c.rows, c.k}));
      p.run = [be, s] { be->embedding(s->inputs[0], s->ids, s->outputs[0]); };
      break;
    case Op::GatherRows:
      s->inputs.push_back(in.random({c.k, c.n}));
      s->ids = in.ids(c.rows, c.k);
      s->outputs.push_back(b.empty(dt, {c.rows, c.n}));
      p.run = [be, s] { be->gather_rows(s->inputs[0], s->ids, s->outputs[0]); };
      break;
    case Op::ArgmaxRows: {
      // fp32 logits, every value distinct after rounding is not needed: ties go to the lower id.
      s->inputs.push_back(in.upload(
          [&] {
            std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
            std::vector<float> v(size_t(c.rows * c.n));
            for (auto& x : v) x = dist(in.rng());
            return v;
          }(),
          {c.rows, c.n}, DType::F32));
      auto ids = std::make_shared<std::vector<int32_t>>();
      p.run = [be, s, ids] { *ids = be->argmax_rows(s->inputs[0]); };
      p.outputs = [ids] { return std::vector<float>(ids->begin(), ids->end()); };
      break;
    }
    case Op::Moe: {
      const int64_t E = c.experts, K = c.top_k, H = c.n, I = c.k;
      s->inputs.push_back(in.random({c.rows, H}));
      s->inputs.push_back(in.upload(
          [&] {
            std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
            std::vector<float> v(size_t(c.rows * E));
            for (auto& x : v) x = dist(in.rng());
            return v;
          }(),
          {c.rows, E}, DType::F32));
      s->weights.push_back(in.weight({E, 2 * I, H}, -0.3f, 0.3f));
      s->weights.push_back(in.weight({E, H, I}, -0.3f, 0.3f));
      s->ids = b.empty(DType::I32, {c.rows, K});
      s->outputs.push_back(b.empty(DType::F32, {c.rows, K}));  // the routing weights
      s->outputs.push_back(b.empty(dt, {c.rows, H}));
      // At most min(E, tokens * k) experts' weights are read.
      p.bytes = double(std::min(E, c.rows * K)) * 3 * I * H * dtype_size(s->weights[0].dtype);
      p.run = [be, s, K] {
        be->moe_route(s->inputs[1], int(K), true, s->ids, s->outputs[0]);
        be->moe_experts(s->inputs[0], s->weights[0], s->weights[1], s->ids, s->outputs[0], s->outputs[1]);
      };
      break;
    }
    case Op::QkvRopeStore:
    case Op::Attention: {
      int num_blocks = 0;
      const bool quantized = c.kv != KvFormat::Dense;
      s->plan = plan_for(c, in.rng(), &num_blocks, quantized ? &s->fill_plan : nullptr);
      s->meta = b.upload_batch(s->plan);
      const int64_t T = s->plan.num_tokens, Hq = c.heads, Hkv = c.kv_heads, D = c.head_dim;
      s->shape = AttentionShape{int(Hq), int(Hkv), int(D), float(1.0 / std::sqrt(double(D))), c.window};
      for (int i = 0; i < D / 2; ++i) s->rope.inv_freq.push_back(float(std::pow(10000.0, -2.0 * i / double(D))));
      s->rope.rotary_dim = int(D);
      const KvCacheSpec spec{1, num_blocks, c.block_len, int(Hkv), int(D), dt, c.kv};
      if (quantized) {
        if (c.op != Op::Attention) fail("op case {}: a quantized cache is for attention cases", c.name());
        s->cache = b.allocate_kv_cache(spec);
        s->fill_meta = b.upload_batch(s->fill_plan);
        const int64_t fill_tokens = s->fill_plan.num_tokens;
        Tensor qkv = in.random({fill_tokens, (Hq + 2 * Hkv) * D}, -2.0f, 2.0f);
        Tensor q_scratch = b.empty(dt, {fill_tokens, Hq * D});
        b.qkv_rope_store(qkv, nullptr, nullptr, 1e-6f, s->rope, s->shape, s->cache, 0, s->fill_meta, q_scratch);
      } else {
        s->cache.spec = spec;
        // The cache starts random: the context's keys and values, as if earlier steps wrote them.
        s->cache.data = in.random({int64_t(spec.bytes() / dtype_size(dt))});
      }
      s->outputs.push_back(b.empty(dt, {T, Hq * D}));
      // The K and V rows the op reads: a quantized row's codes with its parameters.
      const size_t row_bytes = kv_row_element_bytes(c.kv, int(D), dt) + kv_row_param_bytes(c.kv);
      p.bytes = double(s->plan.max_context) * s->plan.num_sequences * 2 * Hkv * double(row_bytes);
      if (c.op == Op::Attention) {
        s->inputs.push_back(in.random({T, Hq * D}));
        p.run = [be, s] { be->attention(s->inputs[0], s->cache, 0, s->meta, s->shape, s->outputs[0]); };
        break;
      }
      s->inputs.push_back(in.random({T, (Hq + 2 * Hkv) * D}));
      if (c.qk_norm) {
        s->inputs.push_back(in.random({D}, 0.5f, 1.5f));
        s->inputs.push_back(in.random({D}, 0.5f, 1.5f));
      }
      s->outputs.push_back(s->cache.data);
      const bool qk = c.qk_norm;
      p.run = [be, s, qk] {
        be->qkv_rope_store(s->inputs[0], qk ? &s->inputs[1] : nullptr, qk ? &s->inputs[2] : nullptr, 1e-6f, s->rope,
                           s->shape, s->cache, 0, s->meta, s->outputs[0]);
      };
      break;
    }
  }
  return p;
}

}  // namespace turbine::test
