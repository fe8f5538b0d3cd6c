// The op contract of the Backend base class (backend/op_checks.cpp): arguments are checked once,
// before any backend runs the op, and an Error names the device and the op. Run on the cpu backend;
// the checks are the same code for every backend.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "backend/batch_input.h"
#include "ops/cpu_test_util.h"
#include "support/test_helpers.h"

namespace turbine::test {
namespace {

Tensor zeros(Backend& b, std::vector<int64_t> shape, DType dtype = DType::F32) {
  Tensor t = b.empty(dtype, std::move(shape));
  if (t.bytes()) std::memset(t.data, 0, t.bytes());
  return t;
}

// One sequence of `tokens` new tokens after `context`, in blocks 0, 1, ... of `block_len` tokens.
BatchPlan plan_of(int context, int tokens, int block_len, int num_blocks, int window = 0) {
  BatchInput in;
  SequenceInput s;
  s.context_len = context;
  s.num_tokens = tokens;
  for (int b = 0; b * block_len < context + tokens; ++b) s.block_table.push_back(b);
  in.sequences.push_back(s);
  in.token_ids.assign(size_t(tokens), 1);
  return plan_batch(in, block_len, num_blocks, window);
}

}  // namespace

TEST(OpContract, ErrorsNameTheDeviceTheOpAndTheArgument) {
  auto be = make_cpu(1);
  Tensor x = zeros(*be, {2, 8}), w = zeros(*be, {4, 8}), out = zeros(*be, {2, 5});
  EXPECT_EQ(error_of([&] { be->linear(x, w, nullptr, out); }), "cpu linear: out has shape [2, 5], expected [2, 4]");
  // A 16-bit weight on a cpu backend that keeps matrix weights in fp32 (the default keeps them 16-bit).
  BackendOptions f32_weights;
  f32_weights.threads = 1;
  f32_weights.cpu.weights = CpuWeights::F32;
  CpuBackend ref(f32_weights);
  Tensor rx = zeros(ref, {2, 8}), half = zeros(ref, {4, 8}, DType::F16), rout = zeros(ref, {2, 4});
  EXPECT_EQ(error_of([&] { ref.linear(rx, half, nullptr, rout); }), "cpu linear: weight must be float32, got float16");
  Tensor odd = zeros(*be, {2, 7}), narrow = zeros(*be, {2, 3});
  EXPECT_EQ(error_of([&] { be->silu_mul(odd, narrow); }), "cpu silu_mul: gate_up width 7 is odd");
  EXPECT_EQ(error_of([&] { be->rms_norm(x, Tensor{}, 1e-5f, x); }), "cpu rms_norm: weight is undefined");
}

TEST(OpContract, TensorsMustBeInTheBackendsMemory) {
  auto be = make_cpu(1);
  Tensor x = zeros(*be, {2, 8}), w = zeros(*be, {8}), out = zeros(*be, {2, 8});
  Tensor elsewhere = x;
  elsewhere.device = Device::Cuda;  // a handle that claims device memory
  EXPECT_EQ(error_of([&] { be->rms_norm(elsewhere, w, 1e-5f, out); }), "cpu rms_norm: x is in cuda memory, not cpu");
}

// The cpu backend reads its RoPE rows by position: a negative one (no planner makes one) is an error
// before any worker starts, not a read before the table.
TEST(OpContract, CpuQkvRopeStoreRefusesANegativePosition) {
  auto be = make_cpu(1);
  const int Hq = 2, Hkv = 1, D = 8, block_len = 4;
  KvCache cache = be->allocate_kv_cache(KvCacheSpec{1, 8, block_len, Hkv, D, DType::F32});
  const AttentionShape shape{Hq, Hkv, D, 0.35f, 0};
  RopeTable rope;
  rope.inv_freq.assign(D / 2, 0.5f);
  rope.rotary_dim = D;
  Tensor qkv = zeros(*be, {3, (Hq + 2 * Hkv) * D}), q = zeros(*be, {3, Hq * D});
  BatchPlan plan = plan_of(2, 3, block_len, 8);
  EXPECT_EQ(error_of([&] {
              const BatchMeta meta = be->upload_batch(plan);
              be->qkv_rope_store(qkv, nullptr, nullptr, 1e-5f, rope, shape, cache, 0, meta, q);
            }),
            "");
  plan.positions[1] = -1;
  const BatchMeta bad = be->upload_batch(plan);
  EXPECT_EQ(error_of([&] { be->qkv_rope_store(qkv, nullptr, nullptr, 1e-5f, rope, shape, cache, 0, bad, q); }),
            "cpu qkv_rope_store: negative position -1");
}

TEST(OpContract, TheCacheMustMatchTheHeadsAndThePlan) {
  auto be = make_cpu(1);
  const int Hq = 2, Hkv = 1, D = 8, block_len = 4;
  KvCache cache = be->allocate_kv_cache(KvCacheSpec{1, 8, block_len, Hkv, D, DType::F32});
  const AttentionShape shape{Hq, Hkv, D, 0.35f, 0};
  Tensor q = zeros(*be, {3, Hq * D}), out = zeros(*be, {3, Hq * D});

  const BatchPlan ok = plan_of(2, 3, block_len, 8);
  const BatchMeta meta = be->upload_batch(ok);
  EXPECT_EQ(error_of([&] { be->attention(q, cache, 0, meta, shape, out); }), "");
  EXPECT_EQ(error_of([&] { be->attention(q, cache, 1, meta, shape, out); }),
            "cpu attention: layer 1 outside the cache (0..0)");
  const AttentionShape wide{Hq, 2, D, 0.35f, 0};
  EXPECT_NE(error_of([&] { be->attention(q, cache, 0, meta, wide, out); }).find("kv heads"), std::string::npos);

  // A plan checked against another cache geometry: its block ids may lie outside this one.
  const BatchPlan other_len = plan_of(2, 3, 8, 8);
  const BatchMeta other_meta = be->upload_batch(other_len);
  EXPECT_EQ(error_of([&] { be->attention(q, cache, 0, other_meta, shape, out); }),
            "cpu attention: the batch was planned for 8 blocks of 8 tokens, the cache has 8 of 4");
  const BatchPlan bigger = plan_of(2, 3, block_len, 16);
  const BatchMeta bigger_meta = be->upload_batch(bigger);
  EXPECT_NE(error_of([&] { be->attention(q, cache, 0, bigger_meta, shape, out); }).find("planned for 16 blocks"),
            std::string::npos);

  // A plan whose released blocks are safe for a window of 4 only.
  const BatchPlan windowed = plan_of(2, 3, block_len, 8, 4);
  const BatchMeta windowed_meta = be->upload_batch(windowed);
  EXPECT_NE(error_of([&] { be->attention(q, cache, 0, windowed_meta, shape, out); }).find("sliding window"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              be->attention(q, cache, 0, windowed_meta, AttentionShape{Hq, Hkv, D, 0.35f, 4}, out);
            }),
            "");

  BatchMeta foreign = meta;  // as if another backend had uploaded the batch
  foreign.positions.device = Device::Cuda;
  EXPECT_EQ(error_of([&] { be->attention(q, cache, 0, foreign, shape, out); }),
            "cpu attention: the batch's position array is in cuda memory, not cpu");

  Tensor short_q = zeros(*be, {2, Hq * D});
  EXPECT_EQ(error_of([&] { be->attention(short_q, cache, 0, meta, shape, out); }),
            "cpu attention: q has shape [2, 16], expected [3, 16]");
}

TEST(OpContract, FusedOpsCheckTheirPreNorm) {
  auto be = make_cpu(1);
  ResidualStream res{zeros(*be, {1, 8}), zeros(*be, {1, 8})};
  Tensor normed = zeros(*be, {1, 8}), w = zeros(*be, {4, 8}), out = zeros(*be, {1, 4});
  Tensor short_norm = zeros(*be, {6});
  EXPECT_EQ(error_of([&] {
              be->norm_linear(PreNorm{res, nullptr, short_norm, 1e-5f, normed}, w, nullptr, out);
            }),
            "cpu norm_linear: the norm weight has shape [6], expected [8]");
  Tensor norm = zeros(*be, {8});
  EXPECT_EQ(error_of([&] { be->norm_linear(PreNorm{res, nullptr, norm, 1e-5f, normed}, w, nullptr, out); }), "");

  // norm_linear_silu_mul: SwiGLU's shapes too, checked before the residual is touched.
  Tensor w_odd = zeros(*be, {5, 8}), gate_up_odd = zeros(*be, {1, 5}), act = zeros(*be, {1, 2});
  EXPECT_EQ(error_of([&] {
              be->norm_linear_silu_mul(PreNorm{res, nullptr, norm, 1e-5f, normed}, w_odd, nullptr, gate_up_odd, act);
            }),
            "cpu norm_linear_silu_mul: gate_up width 5 is odd");
  Tensor gate_up = zeros(*be, {1, 4}), wide_act = zeros(*be, {1, 3});
  EXPECT_EQ(error_of([&] {
              be->norm_linear_silu_mul(PreNorm{res, nullptr, norm, 1e-5f, normed}, w, nullptr, gate_up, wide_act);
            }),
            "cpu norm_linear_silu_mul: out has shape [1, 3], expected [1, 2]");
  EXPECT_EQ(error_of([&] {
              be->norm_linear_silu_mul(PreNorm{res, nullptr, short_norm, 1e-5f, normed}, w, nullptr, gate_up, act);
            }),
            "cpu norm_linear_silu_mul: the norm weight has shape [6], expected [8]");
  EXPECT_EQ(error_of([&] {
              be->norm_linear_silu_mul(PreNorm{res, nullptr, norm, 1e-5f, normed}, w, nullptr, gate_up, act);
            }),
            "");

  // norm_mlp: down's input width is SwiGLU's, its output the residual's width.
  Tensor down = zeros(*be, {8, 2}), down_wide = zeros(*be, {8, 3}), mlp_out = zeros(*be, {1, 8});
  EXPECT_EQ(
      error_of([&] {
        be->norm_mlp(PreNorm{res, nullptr, norm, 1e-5f, normed}, w, nullptr, down_wide, nullptr, gate_up, act, mlp_out);
      }),
      "cpu norm_mlp: x has 2 columns, weight 3");
  EXPECT_EQ(
      error_of([&] {
        be->norm_mlp(PreNorm{res, nullptr, norm, 1e-5f, normed}, w, nullptr, down, nullptr, gate_up, act, mlp_out);
      }),
      "");
}

TEST(OpContract, SamplingArgumentsAreCheckedOnTheHost) {
  auto be = make_cpu(1);
  Tensor logits = zeros(*be, {2, 5});
  const std::vector<int32_t> rows = {0, 2};
  const std::vector<float> temps = {1.0f, 1.0f};
  EXPECT_EQ(error_of([&] { be->top_candidates(logits, rows, temps, 3); }), "cpu top_candidates: row 2 outside 0..1");
  Tensor ints = zeros(*be, {2, 5}, DType::I32);
  EXPECT_EQ(error_of([&] { be->argmax_rows(ints); }), "cpu argmax_rows: logits must be float32, got int32");
}

}  // namespace turbine::test
