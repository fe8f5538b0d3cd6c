// The fused ops (norm_linear, norm_qkv_rope_store) against the CPU backend, which
// runs their parts one after another. One token takes the fused skinny GEMM on the GPU; two and
// three tokens, K not a multiple of 8 and per-head q/k norms take the parts apart. Awkward sizes:
// N not a multiple of the block's rows, K shorter than one step of the block's threads and with a
// ragged end, GQA 1/2/8, partial rotary dims, attention factor, biases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gpu_test_util.h"
#include "int4_test_util.h"

namespace turbine::test {
namespace {

class CudaFused : public CpuVsGpu {
 protected:
  CudaFused() : CpuVsGpu(4242) {}
};

struct NormCase {
  int T, K, N;
  bool delta, bias;
};

TEST_P(CudaFused, NormLinearMatchesCpu) {
  const NormCase cases[] = {{1, 4096, 1030, true, false}, {2, 4096, 1030, true, true}, {1, 72, 1001, false, true},
                            {1, 5000, 33, true, true},    {3, 264, 130, true, true},   {1, 1001, 77, true, false},
                            {2, 11008, 6, false, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " delta=" << c.delta
                                    << " bias=" << c.bias);
    const auto h = random_values(rng, size_t(c.T) * c.K, dtype, -2, 2);
    const auto d = random_values(rng, size_t(c.T) * c.K, dtype);
    const auto g = random_values(rng, c.K, dtype, 0.5, 1.5);
    const auto w = random_values(rng, size_t(c.N) * c.K, dtype, -0.1f, 0.1f);
    const auto b = random_values(rng, c.N, dtype);
    auto run = [&](Backend& be, DType dt) {
      ResidualStream res = residual_stream(be, h, c.T, c.K, dt);
      Tensor delta = put(be, d, {c.T, c.K}, dt), gw = put(be, g, {c.K}, dt), bias = put(be, b, {c.N}, dt);
      Tensor normed = be.empty(dt, {c.T, c.K}), out = be.empty(dt, {c.T, c.N});
      be.norm_linear(PreNorm{res, c.delta ? &delta : nullptr, gw, 1e-5f, normed}, put(be, w, {c.N, c.K}, dt),
                     c.bias ? &bias : nullptr, out);
      return std::make_pair(be.download_f32(out), be.download_f32(res.current));
    };
    const auto [gout, gres] = run(*gpu, dtype);
    const auto [cout, cres] = run(*cpu, DType::F32);
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(gout, cout, tol);
    TURBINE_EXPECT_CLOSE(gres, cres, tol);  // the updated residual, wherever the stream keeps it
  }
}

struct QkvCase {
  const char* name;
  int heads, kv_heads, head_dim, rotary_dim, hidden;
  bool qk_norm, bias;
  float attention_factor;
  std::vector<SeqSpec> seqs;
};

TEST_P(CudaFused, NormQkvRopeStoreMatchesCpu) {
  const std::vector<QkvCase> cases = {
      {"llama_gqa1_one_token", 4, 4, 64, 64, 256, false, false, 1.0f, {{200, 1}}},
      {"gqa2_d128_bias", 4, 2, 128, 128, 520, false, true, 1.0f, {{70, 1}}},
      {"partial_rotary_factor", 4, 4, 96, 48, 72, false, false, 0.9f, {{33, 1}}},
      {"gqa8_first_token", 8, 1, 64, 64, 1000, false, true, 1.0f, {{0, 1}}},
      {"two_tokens_apart", 4, 2, 128, 128, 520, false, true, 1.0f, {{5, 1}, {70, 1}}},
      {"qwen3_qk_norm_apart", 8, 2, 128, 128, 256, true, false, 1.0f, {{9, 1}}},
      {"three_tokens_apart", 4, 2, 64, 64, 256, false, true, 1.0f, {{9, 1}, {40, 1}, {3, 1}}},
      {"prefill_apart", 4, 2, 64, 32, 256, false, false, 1.0f, {{0, 13}}}};
  const int block_len = 16;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int D = c.head_dim, Hq = c.heads, Hkv = c.kv_heads, H = c.hidden, W = (Hq + 2 * Hkv) * D;
    const int num_blocks = blocks_needed(c.seqs, block_len), layers = 2, layer = 1;
    const BatchPlan plan = plan_batch(make_batch(c.seqs, block_len, num_blocks, rng), block_len, num_blocks);
    const int T = plan.num_tokens;
    const auto h = random_values(rng, size_t(T) * H, dtype, -2, 2);
    const auto d = random_values(rng, size_t(T) * H, dtype);
    const auto g = random_values(rng, H, dtype, 0.5, 1.5);
    const auto w = random_values(rng, size_t(W) * H, dtype, -0.2f, 0.2f);
    const auto b = random_values(rng, W, dtype);
    const auto qn = random_values(rng, D, dtype, 0.5, 1.5);
    const auto kn = random_values(rng, D, dtype, 0.5, 1.5);
    const RopeTable rope = test_rope(c.rotary_dim, c.attention_factor);
    const AttentionShape shape{Hq, Hkv, D, 1.0f / std::sqrt(float(D)), 0};

    struct Result {
      std::vector<float> q, cache, residual;
    };
    auto run = [&](Backend& be, DType dt) {
      KvCache cache = be.allocate_kv_cache(KvCacheSpec{layers, num_blocks, block_len, Hkv, D, dt});
      mark_unwritten(be, cache);
      ResidualStream res = residual_stream(be, h, T, H, dt);
      Tensor delta = put(be, d, {T, H}, dt), gw = put(be, g, {H}, dt), bias = put(be, b, {W}, dt);
      Tensor qnw = put(be, qn, {D}, dt), knw = put(be, kn, {D}, dt);
      Tensor normed = be.empty(dt, {T, H}), qkv = be.empty(dt, {T, W}), q = be.empty(dt, {T, Hq * D});
      const BatchMeta meta = be.upload_batch(plan);
      const QkvRopeStore store{
          c.qk_norm ? &qnw : nullptr, c.qk_norm ? &knw : nullptr, 1e-6f, rope, shape, cache, layer, meta};
      be.norm_qkv_rope_store(PreNorm{res, &delta, gw, 1e-5f, normed}, put(be, w, {W, H}, dt), c.bias ? &bias : nullptr,
                             qkv, store, q);
      return Result{be.download_f32(q), be.download_f32(cache.data), be.download_f32(res.current)};
    };
    const Result got = run(*gpu, dtype), want = run(*cpu, DType::F32);
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(got.q, want.q, tol);
    TURBINE_EXPECT_CLOSE(got.residual, want.residual, tol);
    // The whole cache: written slots must agree, and nothing else may be written.
    TURBINE_EXPECT_CLOSE(got.cache, want.cache, tol);
    EXPECT_EQ(count_written(got.cache), size_t(T) * 2 * Hkv * D);
  }
}

// Bad shapes at one token fall to the parts' checks and give an Error: a norm weight of the wrong
// length before anything is written (the residual stream keeps its values), an output of the wrong
// width by linear's check.
TEST_P(CudaFused, MismatchedShapesThrowAndLeaveTheResidual) {
  const int H = 64, N = 24;
  const auto h = random_values(rng, H, dtype, -2, 2);
  ResidualStream res = residual_stream(*gpu, h, 1, H, dtype);
  Tensor delta = put(*gpu, random_values(rng, H, dtype), {1, H}, dtype);
  Tensor short_norm = put(*gpu, random_values(rng, H - 8, dtype), {H - 8}, dtype);
  Tensor norm = put(*gpu, random_values(rng, H, dtype), {H}, dtype);
  Tensor w = put(*gpu, random_values(rng, size_t(N) * H, dtype), {N, H}, dtype);
  Tensor normed = gpu->empty(dtype, {1, H}), out = gpu->empty(dtype, {1, N});
  Tensor wide_out = gpu->empty(dtype, {1, N + 8});
  EXPECT_THROW(gpu->norm_linear(PreNorm{res, &delta, short_norm, 1e-5f, normed}, w, nullptr, out), Error);
  EXPECT_EQ(gpu->download_f32(res.current), h);
  EXPECT_THROW(gpu->norm_linear(PreNorm{res, &delta, norm, 1e-5f, normed}, w, nullptr, wide_out), Error);
}

// A recorded decode step pads its batch with rows whose slot is -1: the fused kernel must write
// their q like the rest and leave the cache alone, as the parts apart do (the CPU backend refuses
// such slots, so the reference here is the GPU with fusion off). With a dense weight (the skinny
// GEMM) and a 4-bit one (the 4-bit GEMV's epilogue).
TEST_P(CudaFused, PaddingRowWritesNoCache) {
  const int D = 64, Hq = 4, Hkv = 2, H = 128, W = (Hq + 2 * Hkv) * D, block_len = 16, layers = 1;
  const std::vector<SeqSpec> seqs = {{20, 1}};
  const int num_blocks = blocks_needed(seqs, block_len);
  BatchPlan plan = plan_batch(make_batch(seqs, block_len, num_blocks, rng), block_len, num_blocks);
  plan.slot_mapping[0] = -1;
  const auto h = random_values(rng, size_t(H), dtype, -2, 2);
  const auto g = random_values(rng, H, dtype, 0.5, 1.5);
  const auto w = random_values(rng, size_t(W) * H, dtype, -0.2f, 0.2f);
  const HostInt4Matrix w4 = random_int4(rng, W, H, 128);
  const RopeTable rope = test_rope(D);
  const AttentionShape shape{Hq, Hkv, D, 0.125f, 0};
  auto run = [&](Backend& be, bool four_bit) {
    KvCache cache = be.allocate_kv_cache(KvCacheSpec{layers, num_blocks, block_len, Hkv, D, dtype});
    mark_unwritten(be, cache);
    ResidualStream res = residual_stream(be, h, 1, H, dtype);
    Tensor gw = put(be, g, {H}, dtype), normed = be.empty(dtype, {1, H}), qkv = be.empty(dtype, {1, W}),
           q = be.empty(dtype, {1, Hq * D});
    const BatchMeta meta = be.upload_batch(plan);
    const LinearWeight weight = four_bit ? LinearWeight(be.pack_int4(w4)) : LinearWeight(put(be, w, {W, H}, dtype));
    be.norm_qkv_rope_store(PreNorm{res, nullptr, gw, 1e-5f, normed}, weight, nullptr, qkv,
                           QkvRopeStore{nullptr, nullptr, 1e-6f, rope, shape, cache, 0, meta}, q);
    return std::make_pair(be.download_f32(q), be.download_f32(cache.data));
  };
  CudaOptions unfused;
  unfused.fused = false;
  auto apart = make_gpu(dtype, unfused);
  for (bool four_bit : {false, true}) {
    SCOPED_TRACE(four_bit ? "4-bit weight" : "dense weight");
    const auto [fq, fcache] = run(*gpu, four_bit);
    const auto [aq, acache] = run(*apart, four_bit);
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(fq, aq, tol);
    TURBINE_EXPECT_CLOSE(fcache, acache, tol);
    EXPECT_EQ(count_written(fcache), 0u);
    EXPECT_TRUE(std::any_of(fq.begin(), fq.end(), [](float v) { return v != 0.0f; }));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaFused, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
