// The quantized KV cache on the CPU backend: the one-row quantization (backend/kv_quant.h) on edge
// cases, the fp8 e4m3 codec on every code, and qkv_rope_store + attention with each format against the
// Dense cache on awkward shapes (head_dim 64 / 128, GQA, block lengths that are no power of two, 1 / 3 /
// 17 new tokens, several sequences, sliding window).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "backend/cpu/cpu_kv_rows.h"
#include "backend/kv_quant.h"
#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

constexpr KvFormat kQuantized[] = {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8};

struct RoundTrip {
  std::vector<float> x;
  std::vector<float> y;  // dequantized
  float scale = 0, zero = 0;
};

RoundTrip round_trip(KvFormat f, std::vector<float> x) {
  const int D = int(x.size());
  std::vector<uint8_t> q(kv_row_element_bytes(f, D, DType::F32));
  uint16_t params[2] = {0, 0};
  kv_quantize_row(f, x.data(), D, q.data(), params);
  RoundTrip r;
  r.y.resize(x.size());
  kv_dequantize_row(f, q.data(), params, D, r.y.data());
  r.scale = f16_to_f32(params[0]);
  r.zero = f == KvFormat::Fp8 ? 0.0f : f16_to_f32(params[1]);
  r.x = std::move(x);
  return r;
}

// The bound kv_quant.h's rule gives for one element. Int: half a step, plus what rounding the scale
// and the zero to fp16 (2^-11 relative each) moves the clamped ends. Fp8: half an e4m3 ulp
// (2^-4 relative) of x, half the smallest subnormal step (scale * 2^-10), and the fp16 scale's rounding.
double error_bound(KvFormat f, const RoundTrip& r, float x) {
  const auto [lo, hi] = std::minmax_element(r.x.begin(), r.x.end());
  if (f == KvFormat::Fp8) return std::fabs(x) * (0x1p-4 + 0x1p-10) + r.scale * 0x1p-10;
  return 0.5 * r.scale + 0x1p-10 * (double(*hi) - *lo + std::fabs(*lo));
}

TEST(KvQuantRow, RandomRowsWithinTheBound) {
  std::mt19937 rng(5);
  for (KvFormat f : kQuantized)
    for (int D : {8, 64, 128})
      for (auto [lo, hi] : {std::pair{-2.0, 2.0}, {10.0, 10.5}, {-300.0, -100.0}, {-1e-3, 5e-4}}) {
        const RoundTrip r = round_trip(f, to_float(random_vec(rng, size_t(D), lo, hi)));
        for (int d = 0; d < D; ++d)
          ASSERT_LE(std::fabs(double(r.y[d]) - r.x[d]), error_bound(f, r, r.x[d]))
              << kv_format_name(f) << " D=" << D << " range " << lo << ".." << hi << " d=" << d;
      }
}

TEST(KvQuantRow, IntegerFormatsUseTheWholeCodeRange) {
  // The row's minimum and maximum land on codes 0 and qmax, so they come back within half a step.
  for (KvFormat f : {KvFormat::Int8, KvFormat::Int4}) {
    std::vector<float> x(16);
    std::iota(x.begin(), x.end(), -5.0f);
    const RoundTrip r = round_trip(f, x);
    EXPECT_EQ(r.zero, -5.0f);
    EXPECT_FLOAT_EQ(r.scale, f16_to_f32(f32_to_f16(15.0f / (f == KvFormat::Int8 ? 255.0f : 15.0f))));
    EXPECT_EQ(r.y.front(), -5.0f);
    EXPECT_NEAR(r.y.back(), 10.0f, 0.5 * r.scale + 1e-3);
    if (f == KvFormat::Int4) {
      EXPECT_EQ(r.y, x);  // 16 integers, 15 steps of 1: exact
    }
  }
}

TEST(KvQuantRow, ConstantRowsAndZerosAreExact) {
  for (KvFormat f : kQuantized) {
    const RoundTrip zeros = round_trip(f, std::vector<float>(64, 0.0f));
    EXPECT_EQ(zeros.y, zeros.x) << kv_format_name(f);
    EXPECT_EQ(zeros.scale, 0.0f);
    // 3.75 is an fp16 value: the integer formats keep it as the zero point with scale 0.
    const RoundTrip c = round_trip(f, std::vector<float>(64, 3.75f));
    if (f == KvFormat::Fp8) {
      for (float y : c.y) EXPECT_NEAR(y, 3.75f, 3.75f * 0x1p-10) << "fp8";  // 448 * scale, scale in fp16
    } else {
      EXPECT_EQ(c.y, c.x) << kv_format_name(f);
    }
    // A constant that fp16 cannot hold comes back as its fp16 rounding.
    const RoundTrip odd = round_trip(KvFormat::Int8, std::vector<float>(8, 0.1f));
    for (float y : odd.y) EXPECT_EQ(y, f16_to_f32(f32_to_f16(0.1f)));
  }
}

TEST(KvQuantRow, LargeValuesSaturateInsteadOfOverflowing) {
  // Past fp16's range the scale and zero saturate at 65504: the values stay finite and ordered.
  for (KvFormat f : kQuantized) {
    std::vector<float> x = {-1e6f, -70000.0f, -1.0f, 0.0f, 1.0f, 60000.0f, 1e6f, 3e7f};
    const RoundTrip r = round_trip(f, x);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(std::isfinite(r.y[i])) << kv_format_name(f) << " " << x[i];
      if (i) {
        EXPECT_LE(r.y[i - 1], r.y[i]) << kv_format_name(f);
      }
    }
  }
  // Within fp16's range a wide row keeps its bound.
  const RoundTrip wide = round_trip(KvFormat::Int8, {-60000.0f, -3.0f, 0.0f, 60000.0f, 12345.0f, 5.0f, -7.0f, 1.0f});
  for (size_t i = 0; i < wide.x.size(); ++i)
    EXPECT_LE(std::fabs(wide.y[i] - wide.x[i]), error_bound(KvFormat::Int8, wide, wide.x[i]));
}

TEST(Fp8E4m3, EveryCodeRoundTrips) {
  for (int code = 0; code < 256; ++code) {
    const float v = fp8_e4m3_to_f32(uint8_t(code));
    if ((code & 0x7f) == 0x7f) {
      EXPECT_TRUE(std::isnan(v)) << code;
      EXPECT_EQ(f32_to_fp8_e4m3(v) & 0x7f, 0x7f);
      continue;
    }
    EXPECT_EQ(f32_to_fp8_e4m3(v), code) << "value " << v;
  }
  EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x01), 0x1p-9f);  // smallest subnormal
  EXPECT_EQ(fp8_e4m3_to_f32(0x08), 0x1p-6f);  // smallest normal
}

TEST(Fp8E4m3, RoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.0625f)), 1.0f);   // halfway 1 and 1.125: even mantissa
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.1875f)), 1.25f);  // halfway 1.125 and 1.25
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.07f)), 1.125f);
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1000.0f)), 448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(-1e30f)), -448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(0x1p-11f)), 0.0f);         // below half the smallest subnormal
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(0x1p-10f * 3)), 0x1p-8f);  // 1.5 subnormal steps: to even (2)
}

// ---- qkv_rope_store + attention over a quantized cache ----

struct Shape {
  int Hq, Hkv, D, block_len, window;
  std::vector<std::pair<int, int>> seqs;  // (context already cached, new tokens)
};

struct Batch {
  BatchInput fill, step;  // fill: every position of every sequence as new tokens; step: the new tokens only
  int num_blocks = 0;
};

Batch make_batch(const Shape& s, std::mt19937& rng) {
  Batch b;
  for (auto [c, t] : s.seqs) b.num_blocks += (c + t + s.block_len - 1) / s.block_len;
  b.num_blocks += 2;
  std::vector<int32_t> pool(b.num_blocks);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng);
  size_t next = 0;
  for (auto [c, t] : s.seqs) {
    SequenceInput all;
    all.context_len = 0;
    all.num_tokens = c + t;
    for (int i = 0; i < (c + t + s.block_len - 1) / s.block_len; ++i) all.block_table.push_back(pool[next++]);
    SequenceInput step = all;
    step.context_len = c;
    step.num_tokens = t;
    b.fill.sequences.push_back(all);
    b.fill.token_ids.insert(b.fill.token_ids.end(), size_t(c + t), 1);
    b.step.sequences.push_back(step);
    b.step.token_ids.insert(b.step.token_ids.end(), size_t(t), 1);
  }
  return b;
}

class CpuQuantizedKv : public ::testing::TestWithParam<std::tuple<KvFormat, Shape>> {};

TEST_P(CpuQuantizedKv, StoreAndAttentionAgreeWithTheDenseCache) {
  const auto& [format, s] = GetParam();
  std::mt19937 rng(unsigned(s.Hq * 7 + s.D + s.block_len * 3 + s.window));
  auto be = make_cpu();
  const Batch b = make_batch(s, rng);
  const BatchPlan fill = plan_batch(b.fill, s.block_len, b.num_blocks, s.window);
  const BatchPlan step = plan_batch(b.step, s.block_len, b.num_blocks, s.window);
  const BatchMeta fill_meta = be->upload_batch(fill), step_meta = be->upload_batch(step);
  const int layers = 2, layer = 1, D = s.D, W = (s.Hq + 2 * s.Hkv) * D;
  KvCacheSpec spec{layers, b.num_blocks, s.block_len, s.Hkv, D, DType::F32};
  KvCache dense = be->allocate_kv_cache(spec);
  spec.format = format;
  KvCache quant = be->allocate_kv_cache(spec);
  EXPECT_EQ(quant.data.bytes(), spec.bytes());

  RopeTable rope;
  rope.rotary_dim = D;
  for (int i = 0; i < D / 2; ++i) rope.inv_freq.push_back(float(std::pow(10000.0, -2.0 * i / D)));
  const AttentionShape shape{s.Hq, s.Hkv, D, float(1.0 / std::sqrt(double(D))), s.window};
  // Keys around an offset (like real keys), values in [-1, 1).
  Vec qkv = random_vec(rng, size_t(fill.num_tokens) * W, -2, 2);
  for (int64_t t = 0; t < fill.num_tokens; ++t)
    for (int i = s.Hq * D; i < (s.Hq + s.Hkv) * D; ++i) qkv[size_t(t) * W + i] += 0.5;
  Tensor tqkv = upload_vec(*be, qkv, {fill.num_tokens, W});
  Tensor q_fill = be->empty(DType::F32, {fill.num_tokens, int64_t(s.Hq) * D});
  be->qkv_rope_store(tqkv, nullptr, nullptr, 1e-6f, rope, shape, dense, layer, fill_meta, q_fill);
  be->qkv_rope_store(tqkv, nullptr, nullptr, 1e-6f, rope, shape, quant, layer, fill_meta, q_fill);

  // The store: each quantized row is kv_quantize_row of the dense row, at the slot's place; the
  // dequantized rows feed the references below.
  const cpu::QuantizedKvLayer rows(quant, layer);
  const size_t element_bytes = kv_row_element_bytes(format, D, DType::F32), param_bytes = kv_row_param_bytes(format);
  std::vector<RefAttentionSeq> exact(s.seqs.size()), approx(s.seqs.size());
  std::vector<float> deq(static_cast<size_t>(D));
  for (size_t i = 0; i < s.seqs.size(); ++i) {
    const auto [c, t] = s.seqs[i];
    for (auto* r : {&exact[i], &approx[i]}) {
      r->context_len = c;
      r->num_tokens = t;
      r->k.resize(size_t(c + t) * s.Hkv * D);
      r->v.resize(r->k.size());
    }
    const auto& table = b.fill.sequences[i].block_table;
    for (int p = 0; p < c + t; ++p) {
      const int64_t slot = int64_t(table[p / s.block_len]) * s.block_len + p % s.block_len;
      for (int h = 0; h < s.Hkv; ++h)
        for (int kv = 0; kv < 2; ++kv) {
          const float* row =
              dense.data.ptr<float>() + kv_cache_offset(b.num_blocks, s.block_len, s.Hkv, D, layer,
                                                        int(slot / s.block_len), kv, h, int(slot % s.block_len));
          std::vector<uint8_t> want_q(element_bytes);
          uint16_t want_p[2] = {0, 0};
          kv_quantize_row(format, row, D, want_q.data(), want_p);
          ASSERT_EQ(std::memcmp(rows.elements(slot, kv, h), want_q.data(), element_bytes), 0) << "p=" << p;
          ASSERT_EQ(std::memcmp(rows.params(slot, kv, h), want_p, param_bytes), 0) << "p=" << p;
          kv_dequantize_row(format, want_q.data(), want_p, D, deq.data());
          Vec& ek = kv ? exact[i].v : exact[i].k;
          Vec& ak = kv ? approx[i].v : approx[i].k;
          for (int d = 0; d < D; ++d) {
            ek[(size_t(p) * s.Hkv + h) * D + d] = deq[d];
            ak[(size_t(p) * s.Hkv + h) * D + d] = row[d];
          }
        }
    }
  }
  // Only the layer written changed.
  const auto* l0 = static_cast<const uint8_t*>(quant.data.data);
  EXPECT_TRUE(std::all_of(l0, l0 + b.num_blocks * spec.block_bytes(), [](uint8_t x) { return x == 0; }));

  Vec q_all;
  for (size_t i = 0; i < s.seqs.size(); ++i) {
    exact[i].q = approx[i].q = random_vec(rng, size_t(s.seqs[i].second) * s.Hq * D, -2, 2);
    q_all.insert(q_all.end(), exact[i].q.begin(), exact[i].q.end());
  }
  Tensor q = upload_vec(*be, q_all, {step.num_tokens, int64_t(s.Hq) * D});
  Tensor out_q = be->empty(DType::F32, {step.num_tokens, int64_t(s.Hq) * D});
  Tensor out_d = be->empty(DType::F32, {step.num_tokens, int64_t(s.Hq) * D});
  be->attention(q, quant, layer, step_meta, shape, out_q);
  be->attention(q, dense, layer, step_meta, shape, out_d);
  const std::vector<float> got = be->download_f32(out_q), dense_out = be->download_f32(out_d);

  // Attention over the quantized cache is attention over its dequantized rows, to fp32 rounding, on
  // every kernel table (each dequantizes the rows itself, as it reaches them).
  const Vec want = ref_attention(exact, s.Hq, s.Hkv, D, shape.scale, s.window);
  EXPECT_LE(tolerance_ratio(got, want, 2e-6, 2e-5), 1.0);
  for (CpuIsa isa : runnable_isas()) {
    SCOPED_TRACE(cpu_isa_name(isa));
    auto on_isa = make_cpu_isa(isa);
    Tensor out = on_isa->empty(DType::F32, {step.num_tokens, int64_t(s.Hq) * D});
    on_isa->attention(q, quant, layer, on_isa->upload_batch(step), shape, out);
    EXPECT_LE(tolerance_ratio(on_isa->download_f32(out), want, 2e-6, 2e-5), 1.0);
  }

  // Against the dense cache, per output element of (token, head): with M the largest change any key's
  // score gets from quantization (|scale * q . (k - k')|) and E the largest value error, every softmax
  // weight moves by a factor within e^(+-2M), so |out - out'| <= E + (e^(2M) - 1) * max|v|.
  size_t row = 0;
  int differing = 0;
  for (size_t i = 0; i < s.seqs.size(); ++i) {
    const auto [c, t] = s.seqs[i];
    for (int j = 0; j < t; ++j, ++row) {
      const int pos = c + j, lo = s.window ? std::max(0, pos - s.window + 1) : 0;
      for (int h = 0; h < s.Hq; ++h) {
        const int kvh = h / (s.Hq / s.Hkv);
        double M = 0, E = 0, vmax = 0;
        for (int p = lo; p <= pos; ++p) {
          double dot = 0;
          for (int d = 0; d < D; ++d) {
            const size_t at = (size_t(p) * s.Hkv + kvh) * D + d;
            dot += exact[i].q[(size_t(j) * s.Hq + h) * D + d] * (exact[i].k[at] - approx[i].k[at]);
            E = std::max(E, std::fabs(exact[i].v[at] - approx[i].v[at]));
            vmax = std::max(vmax, std::fabs(approx[i].v[at]));
          }
          M = std::max(M, std::fabs(dot) * shape.scale);
        }
        const double bound = E + std::expm1(2 * M) * vmax + 1e-5;
        for (int d = 0; d < D; ++d) {
          const size_t at = (row * s.Hq + h) * D + d;
          ASSERT_LE(std::fabs(double(got[at]) - dense_out[at]), bound) << "row " << row << " head " << h << " d " << d;
          differing += got[at] != dense_out[at];
        }
      }
    }
  }
  EXPECT_GT(differing, 0) << "quantization changed nothing";
}

const Shape kShapes[] = {
    {4, 2, 64, 12, 0, {{0, 17}, {40, 1}, {21, 3}}},   // GQA 2, block 12, prefill + decode + chunk
    {8, 2, 128, 16, 0, {{0, 3}, {100, 1}, {7, 17}}},  // head_dim 128, GQA 4
    {4, 4, 64, 7, 0, {{30, 17}, {0, 1}}},             // MHA, block 7
    {8, 1, 128, 10, 0, {{63, 1}, {5, 3}}},            // GQA 8, block 10
    {4, 2, 64, 16, 24, {{0, 40}, {60, 1}, {10, 3}}},  // sliding window 24
    {2, 1, 64, 5, 9, {{33, 1}, {0, 17}, {2, 3}}},     // window 9 over 5-token blocks
    // blocks longer than the kernel's dequantized runs (16 rows at head_dim 128, 85 at 24)
    {4, 4, 128, 64, 0, {{100, 1}, {0, 40}, {57, 9}}},
    {2, 1, 24, 100, 0, {{150, 1}, {3, 9}}},  // head_dim 24: the kernel's dot / axpy path
};

INSTANTIATE_TEST_SUITE_P(Formats, CpuQuantizedKv,
                         ::testing::Combine(::testing::ValuesIn(kQuantized), ::testing::ValuesIn(kShapes)),
                         [](const auto& info) {
                           return std::string(kv_format_name(std::get<0>(info.param))) + "_shape" +
                                  std::to_string(info.index % std::size(kShapes));
                         });

// A batch of one sequence with one new token and no context, in block 0 of blocks of `block_len`.
BatchPlan one_token_plan(int block_len) {
  BatchInput in;
  SequenceInput seq;
  seq.context_len = 0;
  seq.num_tokens = 1;
  seq.block_table = {0};
  in.sequences.push_back(seq);
  in.token_ids = {1};
  return plan_batch(in, block_len, 1);
}

// Every code of every format through the attention kernel's own dequantization, on every kernel
// table: one cached position, whose key row is all zeros, so the output is its value row exactly
// (softmax weight 1, and scale and zero chosen so that code * scale + zero is exact in fp32). Fp8's
// subnormals and NaN codes included.
TEST(CpuQuantizedKvCache, AttentionDequantizesEveryCodeAsTheReference) {
  const int D = 128;
  const BatchPlan plan = one_token_plan(16);
  const AttentionShape shape{1, 1, D, 0.1f, 0};
  const uint16_t params[2] = {f32_to_f16(0.75f), f32_to_f16(-1.5f)};
  for (KvFormat f : kQuantized)
    for (int half = 0; half < 2; ++half) {
      const size_t element_bytes = kv_row_element_bytes(f, D, DType::F32);
      std::vector<uint8_t> codes(element_bytes);
      for (size_t i = 0; i < codes.size(); ++i) codes[i] = uint8_t(i + 128 * half);
      std::vector<float> want(D);
      kv_dequantize_row(f, codes.data(), params, D, want.data());
      for (CpuIsa isa : runnable_isas()) {
        SCOPED_TRACE(std::string(kv_format_name(f)) + " " + cpu_isa_name(isa) + " half " + std::to_string(half));
        auto be = make_cpu_isa(isa);
        KvCache cache = be->allocate_kv_cache(KvCacheSpec{1, 1, 16, 1, D, DType::F32, f});
        const cpu::QuantizedKvLayer rows(cache, 0);
        std::memcpy(rows.elements(0, 1, 0), codes.data(), element_bytes);  // the value row; the key row stays 0
        std::memcpy(rows.params(0, 1, 0), params, kv_row_param_bytes(f));
        Tensor q = upload_vec(*be, Vec(D, 1.0), {1, D});
        Tensor out = be->empty(DType::F32, {1, D});
        be->attention(q, cache, 0, be->upload_batch(plan), shape, out);
        const std::vector<float> got = be->download_f32(out);
        for (int d = 0; d < D; ++d) {
          if (std::isnan(want[d])) {
            EXPECT_TRUE(std::isnan(got[d])) << "d " << d;
          } else {
            EXPECT_EQ(got[d], want[d]) << "d " << d;
          }
        }
      }
    }
}

// The kernel dequantizes a run of rows into a buffer of 2048 floats: a wider head is refused by name.
TEST(CpuQuantizedKvCache, AttentionRefusesAHeadWiderThanItsRunBuffer) {
  const int D = cpu::kQuantizedRunMaxHeadDim + 8;
  auto be = make_cpu();
  const BatchPlan plan = one_token_plan(4);
  KvCache cache = be->allocate_kv_cache(KvCacheSpec{1, 1, 4, 1, D, DType::F32, KvFormat::Int8});
  Tensor q = upload_vec(*be, Vec(size_t(D), 0.5), {1, D}), out = be->empty(DType::F32, {1, D});
  try {
    be->attention(q, cache, 0, be->upload_batch(plan), AttentionShape{1, 1, D, 0.1f, 0}, out);
    FAIL() << "head_dim " << D << " accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim up to 2048"), std::string::npos) << e.what();
  }
}

TEST(CpuQuantizedKvCache, SizesBlocksByTheFormatAndChecksHeadDim) {
  auto be = make_cpu();
  KvCacheSpec spec{2, 3, 16, 2, 64, DType::F32};
  const size_t dense = spec.bytes();
  EXPECT_EQ(dense, size_t(2) * 3 * 2 * 2 * 16 * 64 * 4);
  spec.format = KvFormat::Int8;
  EXPECT_EQ(spec.block_bytes(), size_t(2) * 2 * 16 * (64 + 4));
  spec.format = KvFormat::Int4;
  EXPECT_EQ(spec.block_bytes(), size_t(2) * 2 * 16 * (32 + 4));
  spec.format = KvFormat::Fp8;
  EXPECT_EQ(spec.block_bytes(), size_t(2) * 2 * 16 * (64 + 2));
  spec.block_len = 3;  // 2*2*3*(64+2) = 792 bytes, padded to 800
  EXPECT_EQ(spec.block_bytes(), 800u);
  EXPECT_EQ(be->allocate_kv_cache(spec).data.bytes(), spec.bytes());
  spec.head_dim = 36;  // not a multiple of 8
  try {
    be->allocate_kv_cache(spec);
    FAIL() << "head_dim 36 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-quant fp8 needs a head_dim that is a multiple of 8"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(parse_kv_format("int4"), KvFormat::Int4);
  try {
    parse_kv_format("int3");
    FAIL() << "int3 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-quant"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbine::test
