// qkv_rope_store and attention on the paged KV cache against the double-precision references:
// mixed batches (fresh prefills, prefill chunks on top of existing context, single-token
// decodes), GQA ratios 1/2/8/12, contexts spanning many blocks of a shuffled block pool, and
// sliding windows.
#include <gtest/gtest.h>

#include <algorithm>

#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

struct SeqShape {
  int32_t context_len, num_tokens;
};

// A batch over a cache whose blocks are handed out in shuffled order (tables are not contiguous).
struct PagedBatch {
  BatchInput input;
  int num_blocks = 0;
};

PagedBatch make_paged_batch(const std::vector<SeqShape>& seqs, int block_len, std::mt19937& rng) {
  int needed = 0;
  for (auto s : seqs) needed += (s.context_len + s.num_tokens + block_len - 1) / block_len;
  PagedBatch b;
  b.num_blocks = needed + 3;  // a few blocks nobody uses
  std::vector<int32_t> pool(b.num_blocks);
  for (int i = 0; i < b.num_blocks; ++i) pool[i] = i;
  std::shuffle(pool.begin(), pool.end(), rng);
  size_t next = 0;
  for (auto s : seqs) {
    SequenceInput in;
    in.context_len = s.context_len;
    in.num_tokens = s.num_tokens;
    for (int i = 0; i < (s.context_len + s.num_tokens + block_len - 1) / block_len; ++i)
      in.block_table.push_back(pool[next++]);
    b.input.sequences.push_back(in);
    b.input.token_ids.insert(b.input.token_ids.end(), s.num_tokens, 0);
  }
  return b;
}

struct AttnCase {
  int Hq, Hkv, D, block_len, window;
  std::vector<SeqShape> seqs;
};

class CpuAttention : public ::testing::TestWithParam<AttnCase> {};

TEST_P(CpuAttention, MatchesReference) {
  const AttnCase c = GetParam();
  std::mt19937 rng(unsigned(c.Hq * 131 + c.Hkv * 17 + c.D + c.window));
  auto be = make_cpu();
  PagedBatch pb = make_paged_batch(c.seqs, c.block_len, rng);
  const BatchPlan plan = plan_batch(pb.input, c.block_len, pb.num_blocks);
  const BatchMeta meta = be->upload_batch(plan);
  const int layers = 2, layer = 1;
  KvCache cache = be->allocate_kv_cache({layers, pb.num_blocks, c.block_len, c.Hkv, c.D, DType::F32});

  // Random K/V for every position of every sequence, written straight into the paged layout.
  std::vector<RefAttentionSeq> ref(c.seqs.size());
  Vec q_all;
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    auto& r = ref[s];
    r.context_len = c.seqs[s].context_len;
    r.num_tokens = c.seqs[s].num_tokens;
    const int total = r.context_len + r.num_tokens;
    r.k = random_vec(rng, size_t(total) * c.Hkv * c.D, -2, 2);
    r.v = random_vec(rng, size_t(total) * c.Hkv * c.D);
    r.q = random_vec(rng, size_t(r.num_tokens) * c.Hq * c.D, -2, 2);
    q_all.insert(q_all.end(), r.q.begin(), r.q.end());
    const auto& table = pb.input.sequences[s].block_table;
    for (int p = 0; p < total; ++p)
      for (int h = 0; h < c.Hkv; ++h)
        for (int kv = 0; kv < 2; ++kv) {
          float* dst = cache.data.ptr<float>() + kv_cache_offset(pb.num_blocks, c.block_len, c.Hkv, c.D, layer,
                                                                 table[p / c.block_len], kv, h, p % c.block_len);
          const Vec& src = kv == 0 ? r.k : r.v;
          for (int d = 0; d < c.D; ++d) dst[d] = float(src[(size_t(p) * c.Hkv + h) * c.D + d]);
        }
  }
  const AttentionShape shape{c.Hq, c.Hkv, c.D, float(1.0 / std::sqrt(double(c.D))), c.window};
  Tensor q = upload_vec(*be, q_all, {plan.num_tokens, int64_t(c.Hq) * c.D});
  Tensor out = be->empty(DType::F32, {plan.num_tokens, int64_t(c.Hq) * c.D});
  be->attention(q, cache, layer, meta, shape, out);
  const Vec want = ref_attention(ref, c.Hq, c.Hkv, c.D, shape.scale, c.window);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 2e-6, 2e-5), 1.0);
}

const std::vector<SeqShape> kMixed = {{0, 37}, {100, 1}, {45, 13}, {5, 1}, {0, 1}, {170, 2}};

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuAttention,
    ::testing::Values(AttnCase{4, 4, 40, 16, 0, kMixed},                          // MHA, awkward head_dim
                      AttnCase{4, 2, 64, 16, 0, kMixed},                          // GQA 2 (kjv-llama's heads)
                      AttnCase{8, 1, 24, 7, 0, kMixed},                           // GQA 8, odd block length
                      AttnCase{12, 1, 32, 16, 0, kMixed},  // GQA 12: a decode row's heads go 6 at a time
                      AttnCase{4, 2, 64, 16, 9, kMixed},                          // sliding window inside one block
                      AttnCase{16, 2, 16, 5, 64, {{0, 150}, {300, 1}, {63, 3}}},  // window 64 over 5-token blocks
                      AttnCase{2, 1, 128, 64, 0, {{0, 1}, {511, 1}, {200, 120}}}));

// qkv_rope_store: q rotated into q_out; k rotated and v copied into the cache at each token's slot.
void check_qkv_rope_store(bool qk_norm, int rotary_dim, float attention_factor) {
  const int Hq = 4, Hkv = 2, D = 40, block_len = 8;
  std::mt19937 rng(11);
  auto be = make_cpu();
  PagedBatch pb = make_paged_batch({{0, 9}, {20, 1}, {13, 6}}, block_len, rng);
  const BatchPlan plan = plan_batch(pb.input, block_len, pb.num_blocks);
  const BatchMeta meta = be->upload_batch(plan);
  KvCache cache = be->allocate_kv_cache({3, pb.num_blocks, block_len, Hkv, D, DType::F32});
  const int layer = 2, T = plan.num_tokens, W = (Hq + 2 * Hkv) * D;

  const Vec qkv = random_vec(rng, size_t(T) * W, -2, 2);
  const Vec qn = random_vec(rng, D, 0.5, 1.5), kn = random_vec(rng, D, 0.5, 1.5);
  RopeTable rope;
  rope.rotary_dim = rotary_dim;
  rope.attention_factor = attention_factor;
  std::vector<double> inv_freq;
  for (int i = 0; i < rotary_dim / 2; ++i) {
    rope.inv_freq.push_back(float(std::pow(10000.0, -2.0 * i / rotary_dim)));
    inv_freq.push_back(rope.inv_freq.back());
  }
  Tensor tqkv = upload_vec(*be, qkv, {T, W}), tqn = upload_vec(*be, qn, {D}), tkn = upload_vec(*be, kn, {D});
  Tensor q_out = be->empty(DType::F32, {T, int64_t(Hq) * D});
  const AttentionShape shape{Hq, Hkv, D, 1.0f, 0};
  be->qkv_rope_store(tqkv, qk_norm ? &tqn : nullptr, qk_norm ? &tkn : nullptr, 1e-6f, rope, shape, cache, layer, meta,
                     q_out);

  Vec want_q;
  const auto q_got = be->download_f32(q_out);
  for (int t = 0; t < T; ++t) {
    auto head = [&](int h, const Vec& w) {
      Vec x(qkv.begin() + size_t(t) * W + h * D, qkv.begin() + size_t(t) * W + (h + 1) * D);
      if (qk_norm) x = ref_rms_norm(x, w, 1e-6, 1, D);
      ref_rope(x.data(), plan.positions[t], inv_freq, rotary_dim, attention_factor);
      return x;
    };
    for (int h = 0; h < Hq; ++h) {
      const Vec x = head(h, qn);
      want_q.insert(want_q.end(), x.begin(), x.end());
    }
    const int slot = plan.slot_mapping[t];
    for (int h = 0; h < Hkv; ++h) {
      const Vec k = head(Hq + h, kn);
      const Vec v(qkv.begin() + size_t(t) * W + (Hq + Hkv + h) * D,
                  qkv.begin() + size_t(t) * W + (Hq + Hkv + h + 1) * D);
      for (int kv = 0; kv < 2; ++kv) {
        const float* got = cache.data.ptr<float>() + kv_cache_offset(pb.num_blocks, block_len, Hkv, D, layer,
                                                                     slot / block_len, kv, h, slot % block_len);
        EXPECT_LE(tolerance_ratio(std::vector<float>(got, got + D), kv == 0 ? k : v, 1e-5, 1e-5), 1.0)
            << "token " << t << " head " << h << (kv ? " v" : " k");
      }
    }
  }
  EXPECT_LE(tolerance_ratio(q_got, want_q, 1e-5, 1e-5), 1.0);
  // Other layers stay untouched.
  for (int l = 0; l < 2; ++l) {
    const float* base = cache.data.ptr<float>() + kv_cache_offset(pb.num_blocks, block_len, Hkv, D, l, 0, 0, 0, 0);
    const int64_t n = int64_t(pb.num_blocks) * 2 * Hkv * block_len * D;
    EXPECT_TRUE(std::all_of(base, base + n, [](float f) { return f == 0.0f; })) << "layer " << l;
  }
}

TEST(CpuQkvRopeStore, FullRotary) { check_qkv_rope_store(false, 40, 1.0f); }
TEST(CpuQkvRopeStore, QkNormPartialRotaryAndAttentionFactor) { check_qkv_rope_store(true, 24, 1.25f); }

TEST(CpuQkvRopeStore, RejectsRopeWiderThanHead) {
  auto be = make_cpu();
  std::mt19937 rng(1);
  PagedBatch pb = make_paged_batch({{0, 2}}, 4, rng);
  const BatchPlan plan = plan_batch(pb.input, 4, pb.num_blocks);
  const BatchMeta meta = be->upload_batch(plan);
  KvCache cache = be->allocate_kv_cache({1, pb.num_blocks, 4, 1, 8, DType::F32});
  RopeTable rope;
  rope.rotary_dim = 10;
  rope.inv_freq.assign(5, 1.0f);
  Tensor qkv = be->empty(DType::F32, {2, 24}), q = be->empty(DType::F32, {2, 8});
  EXPECT_THROW(be->qkv_rope_store(qkv, nullptr, nullptr, 1e-6f, rope, {1, 1, 8, 1.0f, 0}, cache, 0, meta, q), Error);
}

}  // namespace
}  // namespace turbine::test
