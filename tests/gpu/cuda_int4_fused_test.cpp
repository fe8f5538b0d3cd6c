// The fused ops with a 4-bit weight against the CPU backend running their parts over the dequantized
// weight. At one token the 4-bit GEMV runs them itself (int4_gemv.cu): the pre-norm in its prologue,
// and RoPE with the cache write (norm_qkv_rope_store) or SwiGLU (norm_linear_silu_mul) in its
// epilogue, which pairs strips; then the scratch output (qkv, gate_up) stays unwritten, and the tests
// check that it did. Heads of 64, 96 (three-strip spans) and 128 dims, GQA, biases, the first token,
// an intermediate width of three strips; and the shapes that run the parts apart: two tokens,
// partial rotary, a head of 80 dims, per-head q/k norms, an intermediate width that is not whole
// strips, a group size of 64. A padding row of a recorded step is in cuda_fused_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gpu_test_util.h"
#include "int4_test_util.h"

namespace turbine::test {
namespace {

class CudaInt4Fused : public CpuVsGpu {
 protected:
  CudaInt4Fused() : CpuVsGpu(77) {}
};

std::vector<float> nans(size_t n) { return std::vector<float>(n, std::nanf("")); }
bool all_nan(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isnan(x); });
}
bool none_nan(const std::vector<float>& v) {
  return std::none_of(v.begin(), v.end(), [](float x) { return std::isnan(x); });
}

struct QkvCase {
  const char* name;
  int heads, kv_heads, head_dim, rotary_dim, hidden;
  bool qk_norm, bias, fused;
  std::vector<SeqSpec> seqs;
};

TEST_P(CudaInt4Fused, NormQkvRopeStoreMatchesCpu) {
  const std::vector<QkvCase> cases = {{"gqa1_d64", 4, 4, 64, 64, 256, false, false, true, {{200, 1}}},
                                      {"gqa2_d128_bias", 4, 2, 128, 128, 512, false, true, true, {{70, 1}}},
                                      {"gqa8_first_token", 8, 1, 64, 64, 1024, false, true, true, {{0, 1}}},
                                      {"d96_three_strip_span", 4, 2, 96, 96, 384, false, true, true, {{17, 1}}},
                                      {"partial_rotary_apart", 4, 4, 96, 48, 384, false, false, false, {{33, 1}}},
                                      {"d80_apart", 2, 2, 80, 80, 256, false, false, false, {{9, 1}}},
                                      {"qk_norm_apart", 8, 2, 128, 128, 256, true, false, false, {{9, 1}}},
                                      {"two_tokens_apart", 4, 2, 128, 128, 512, false, true, false, {{5, 1}, {70, 1}}}};
  const int block_len = 16;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int D = c.head_dim, Hq = c.heads, Hkv = c.kv_heads, H = c.hidden, W = (Hq + 2 * Hkv) * D;
    const int num_blocks = blocks_needed(c.seqs, block_len), layers = 2, layer = 1;
    const BatchPlan plan = plan_batch(make_batch(c.seqs, block_len, num_blocks, rng), block_len, num_blocks);
    const int T = plan.num_tokens;
    const HostInt4Matrix m = random_int4(rng, W, H, 128);
    const auto h = random_values(rng, size_t(T) * H, dtype, -2, 2);
    const auto d = random_values(rng, size_t(T) * H, dtype);
    const auto g = random_values(rng, H, dtype, 0.5, 1.5);
    const auto b = random_values(rng, W, dtype);
    const auto qn = random_values(rng, D, dtype, 0.5, 1.5);
    const auto kn = random_values(rng, D, dtype, 0.5, 1.5);
    const RopeTable rope = test_rope(c.rotary_dim);
    const AttentionShape shape{Hq, Hkv, D, 1.0f / std::sqrt(float(D)), 0};
    struct Result {
      std::vector<float> q, cache, residual, qkv;
    };
    auto run = [&](Backend& be, DType dt, const LinearWeight& w) {
      KvCache cache = be.allocate_kv_cache(KvCacheSpec{layers, num_blocks, block_len, Hkv, D, dt});
      mark_unwritten(be, cache);
      ResidualStream res = residual_stream(be, h, T, H, dt);
      Tensor delta = put(be, d, {T, H}, dt), gw = put(be, g, {H}, dt), bias = put(be, b, {W}, dt);
      Tensor qnw = put(be, qn, {D}, dt), knw = put(be, kn, {D}, dt);
      Tensor normed = be.empty(dt, {T, H}), qkv = put(be, nans(size_t(T) * W), {T, W}, dt);
      Tensor q = be.empty(dt, {T, Hq * D});
      const BatchMeta meta = be.upload_batch(plan);
      const QkvRopeStore store{
          c.qk_norm ? &qnw : nullptr, c.qk_norm ? &knw : nullptr, 1e-6f, rope, shape, cache, layer, meta};
      be.norm_qkv_rope_store(PreNorm{res, &delta, gw, 1e-5f, normed}, w, c.bias ? &bias : nullptr, qkv, store, q);
      return Result{be.download_f32(q), be.download_f32(cache.data), be.download_f32(res.current),
                    be.download_f32(qkv)};
    };
    const Result got = run(*gpu, dtype, LinearWeight(gpu->pack_int4(m)));
    const Result want = run(*cpu, DType::F32, put(*cpu, dequantize(m), {W, H}, DType::F32));
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(got.q, want.q, tol);
    TURBINE_EXPECT_CLOSE(got.residual, want.residual, tol);
    TURBINE_EXPECT_CLOSE(got.cache, want.cache, tol);  // written slots agree, nothing else is written
    EXPECT_EQ(count_written(got.cache), size_t(T) * 2 * Hkv * D);
    if (c.fused)
      EXPECT_TRUE(all_nan(got.qkv)) << "the GEMV's epilogue wrote q and the cache itself";
    else
      EXPECT_TRUE(none_nan(got.qkv)) << "the parts ran apart";
  }
}

struct SwigluCase {
  int T, K, I, group;
  bool delta, bias, fused;
};

TEST_P(CudaInt4Fused, NormLinearSiluMulMatchesCpu) {
  const SwigluCase cases[] = {{1, 4096, 11008, 128, true, false, true}, {1, 512, 48, 128, true, true, true},
                              {1, 256, 16, 128, false, true, true},     {1, 512, 40, 128, false, true, false},
                              {2, 512, 64, 128, true, true, false},     {1, 384, 64, 64, true, false, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " I=" << c.I << " group=" << c.group
                                    << " delta=" << c.delta << " bias=" << c.bias);
    const int N = 2 * c.I;
    const HostInt4Matrix m = random_int4(rng, N, c.K, c.group);
    const auto h = random_values(rng, size_t(c.T) * c.K, dtype, -2, 2);
    const auto d = random_values(rng, size_t(c.T) * c.K, dtype);
    const auto g = random_values(rng, c.K, dtype, 0.5, 1.5);
    const auto b = random_values(rng, N, dtype);
    struct Result {
      std::vector<float> out, residual, gate_up;
    };
    auto run = [&](Backend& be, DType dt, const LinearWeight& w) {
      ResidualStream res = residual_stream(be, h, c.T, c.K, dt);
      Tensor delta = put(be, d, {c.T, c.K}, dt), gw = put(be, g, {c.K}, dt), bias = put(be, b, {N}, dt);
      Tensor normed = be.empty(dt, {c.T, c.K}), gate_up = put(be, nans(size_t(c.T) * N), {c.T, N}, dt);
      Tensor out = be.empty(dt, {c.T, c.I});
      be.norm_linear_silu_mul(PreNorm{res, c.delta ? &delta : nullptr, gw, 1e-5f, normed}, w, c.bias ? &bias : nullptr,
                              gate_up, out);
      return Result{be.download_f32(out), be.download_f32(res.current), be.download_f32(gate_up)};
    };
    const Result got = run(*gpu, dtype, LinearWeight(gpu->pack_int4(m)));
    const Result want = run(*cpu, DType::F32, put(*cpu, dequantize(m), {N, c.K}, DType::F32));
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(got.out, want.out, tol);
    TURBINE_EXPECT_CLOSE(got.residual, want.residual, tol);
    if (c.fused)
      EXPECT_TRUE(all_nan(got.gate_up)) << "the GEMV's epilogue wrote SwiGLU's output itself";
    else
      EXPECT_TRUE(none_nan(got.gate_up)) << "the parts ran apart";
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaInt4Fused, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
