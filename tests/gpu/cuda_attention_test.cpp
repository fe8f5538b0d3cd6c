// Paged attention and the qkv/RoPE/KV-store op against the CPU reference backend: GQA ratios
// 1 to 16, head dims 64 and 128 (decode and flash prefill kernels) and 96 (the general kernel),
// short and long contexts over many blocks, chunked prefill, mixed prefill + decode batches,
// sliding window. Every attention batch also runs on the general kernel alone
// (CudaOptions::general_attention) and is compared with the decode and flash kernels' result.
#ifdef TURBINE_WITH_CUDA
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "backend/batch_input.h"
#include "gpu_test_util.h"

namespace turbine::test {
namespace {

struct AttnCase {
  const char* name;
  int heads, kv_heads, head_dim, block_len, window;
  std::vector<SeqSpec> seqs;
};

class CudaAttention : public CpuVsGpuAndGeneral {
 protected:
  CudaAttention() : CpuVsGpuAndGeneral(2024) {}
};

TEST_P(CudaAttention, MatchesCpu) {
  const std::vector<AttnCase> cases = {
      {"mha_mixed_prefill_decode", 4, 4, 64, 16, 0, {{0, 37}, {300, 1}, {45, 20}}},
      {"gqa2_long_decode_split", 4, 2, 128, 64, 0, {{1500, 1}}},
      {"gqa8_decode_batch", 16, 2, 128, 16, 0, {{4, 1}, {128, 1}, {700, 1}}},
      {"gqa2_sliding_window", 4, 2, 64, 16, 64, {{0, 150}, {500, 1}, {90, 7}}},
      {"gqa4_head_dim_96", 8, 2, 96, 32, 0, {{0, 45}, {77, 1}, {33, 3}}},
      {"gqa8_long_prefill", 8, 1, 64, 64, 0, {{0, 300}}},
      {"many_decodes", 4, 2, 64, 16, 0, std::vector<SeqSpec>(40, SeqSpec{63, 1})},
      {"one_token_prefill", 2, 1, 128, 16, 0, {{0, 1}}},
      // Pure decode batches take the decode kernel (head_dim 64/128, up to 8 heads per KV head).
      {"mha_decode_d128", 4, 4, 128, 16, 0, {{500, 1}, {31, 1}, {2, 1}}},
      {"gqa4_window_decode", 8, 2, 64, 16, 40, {{300, 1}, {20, 1}}},
      {"gqa3_decode", 6, 2, 64, 16, 0, {{100, 1}, {1000, 1}}},
      // Prefill sequences of head_dim 64/128 take the tensor-core flash kernel, in 64-token tiles
      // whose key tiles may span several cache blocks (block_len 24 does not divide 64).
      {"flash_mha_d128_lengths", 2, 2, 128, 16, 0, {{0, 37}, {0, 63}, {0, 64}, {0, 65}, {0, 300}, {0, 1}}},
      {"flash_gqa2_d64_1000", 4, 2, 64, 64, 0, {{0, 1000}}},
      {"flash_gqa8_d128_block24", 8, 1, 128, 24, 0, {{0, 1000}, {0, 65}}},
      {"flash_chunked_prefill", 4, 2, 128, 64, 0, {{500, 77}}},
      {"flash_mixed_block24", 8, 2, 64, 24, 0, {{500, 77}, {30, 1}, {0, 63}, {900, 1}, {7, 2}}},
      {"flash_mixed_many_decodes_d128", 4, 4, 128, 16, 0, {{1, 129}, {60, 1}, {61, 1}, {62, 1}, {200, 1}, {0, 3}}},
      {"flash_window", 4, 2, 128, 16, 100, {{0, 300}, {200, 65}, {700, 1}}},
      {"flash_window_shorter_than_tile", 2, 2, 64, 24, 10, {{0, 150}, {40, 37}, {5, 1}}},
      {"flash_gqa16_prefill_only", 16, 1, 64, 16, 0, {{0, 100}, {33, 40}}},
      // 16 query heads per KV head is beyond the decode kernel: a mixed batch takes the general kernel.
      {"gqa16_mixed_general", 16, 1, 64, 16, 0, {{0, 70}, {50, 1}}},
      // Batch-1 decodes split the context over many blocks (up to 64 parts), merged by the last one.
      {"mha_decode_ctx1", 4, 4, 128, 16, 0, {{0, 1}}},
      {"gqa2_decode_ctx31_bl24", 4, 2, 64, 24, 0, {{30, 1}}},
      {"gqa8_decode_ctx1500_bl64", 8, 1, 128, 64, 0, {{1499, 1}}},
      {"mha_decode_ctx5000_bl24", 2, 2, 128, 24, 0, {{4999, 1}}},
      {"gqa8_decode_ctx5000_d64", 16, 2, 64, 16, 0, {{4999, 1}}},
      {"gqa2_decode_window_split", 4, 2, 128, 16, 100, {{2000, 1}}},
      {"mha_decode_batch16_d128", 4, 4, 128, 64, 0, std::vector<SeqSpec>(16, SeqSpec{257, 1})},
      {"gqa8_decode_mixed_lengths", 8, 1, 64, 24, 0, {{0, 1}, {31, 1}, {1500, 1}, {4000, 1}, {63, 1}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int num_blocks = blocks_needed(c.seqs, c.block_len);
    KvCacheSpec spec{1, num_blocks, c.block_len, c.kv_heads, c.head_dim, DType::F32};
    KvCache ccache = cpu->allocate_kv_cache(spec);
    spec.dtype = dtype;
    KvCache gcache = gpu->allocate_kv_cache(spec);
    const size_t elems = size_t(ccache.data.numel());
    const auto kv = random_values(rng, elems, dtype);
    std::copy(kv.begin(), kv.end(), ccache.data.ptr<float>());
    Tensor staged = put(*gpu, kv, {int64_t(elems)}, dtype);
    ASSERT_EQ(cudaMemcpy(gcache.data.data, staged.data, staged.bytes(), cudaMemcpyDeviceToDevice), cudaSuccess);
    // The backend's stream does not wait for the default stream's copy.
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    const BatchInput input = make_batch(c.seqs, c.block_len, num_blocks, rng);
    const BatchPlan plan = plan_batch(input, c.block_len, num_blocks);
    const int T = plan.num_tokens, QD = c.heads * c.head_dim;
    const auto q = random_values(rng, size_t(T) * QD, dtype, -2, 2);
    AttentionShape shape{c.heads, c.kv_heads, c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), c.window};

    // NaN everywhere first: a row that no kernel writes fails the finiteness check.
    Tensor gout = put(*gpu, std::vector<float>(size_t(T) * QD, NAN), {T, QD}, dtype);
    gpu->attention(put(*gpu, q, {T, QD}, dtype), gcache, 0, gpu->upload_batch(plan), shape, gout);
    Tensor cout = cpu->empty(DType::F32, {T, QD});
    cpu->attention(put(*cpu, q, {T, QD}, DType::F32), ccache, 0, cpu->upload_batch(plan), shape, cout);
    const auto got = gpu->download_f32(gout), want = cpu->download_f32(cout);
    Tensor general_out = put(*general, std::vector<float>(size_t(T) * QD, NAN), {T, QD}, dtype);
    general->attention(put(*general, q, {T, QD}, dtype), gcache, 0, general->upload_batch(plan), shape, general_out);
    const auto general_got = general->download_f32(general_out);
    // Sequence by sequence, so a short one is not hidden by a long one's many good rows.
    for (int s = 0; s < plan.num_sequences; ++s) {
      SCOPED_TRACE("sequence " + std::to_string(s));
      const size_t b = size_t(plan.query_start[s]) * QD, e = size_t(plan.query_start[s + 1]) * QD;
      const std::vector<float> got_s(got.begin() + b, got.begin() + e), want_s(want.begin() + b, want.begin() + e);
      const std::vector<float> general_s(general_got.begin() + b, general_got.begin() + e);
      TURBINE_EXPECT_CLOSE(got_s, want_s, relative_tolerance(dtype));
      TURBINE_EXPECT_CLOSE(general_s, want_s, relative_tolerance(dtype));
      TURBINE_EXPECT_CLOSE(got_s, general_s, relative_tolerance(dtype));
    }
    // Again into a zeroed output: split-K decode must have left its merge counters at zero.
    Tensor again = put(*gpu, std::vector<float>(size_t(T) * QD, 0.0f), {T, QD}, dtype);
    gpu->attention(put(*gpu, q, {T, QD}, dtype), gcache, 0, gpu->upload_batch(plan), shape, again);
    EXPECT_EQ(gpu->download_f32(again), got);
  }
}

struct RopeCase {
  const char* name;
  int heads, kv_heads, head_dim, rotary_dim;
  bool qk_norm;
  float attention_factor;
};

TEST_P(CudaAttention, QkvRopeStoreMatchesCpu) {
  const RopeCase cases[] = {{"llama_gqa2", 4, 2, 64, 64, false, 1.0f},
                            {"qwen3_qk_norm_d128", 8, 2, 128, 128, true, 1.0f},
                            {"partial_rotary_factor", 4, 4, 96, 48, false, 0.9f},
                            {"gqa8", 8, 1, 64, 64, true, 1.0f},
                            {"head_dim_36_scalar_path", 2, 1, 36, 20, true, 1.0f}};
  const std::vector<SeqSpec> seqs = {{0, 13}, {200, 1}, {70, 5}};
  const int block_len = 16;
  const int num_blocks = blocks_needed(seqs, block_len);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int D = c.head_dim, Hq = c.heads, Hkv = c.kv_heads, layers = 2, layer = 1;
    KvCacheSpec spec{layers, num_blocks, block_len, Hkv, D, DType::F32};
    KvCache ccache = cpu->allocate_kv_cache(spec);
    mark_unwritten(*cpu, ccache);
    spec.dtype = dtype;
    KvCache gcache = gpu->allocate_kv_cache(spec);
    mark_unwritten(*gpu, gcache);

    const BatchInput input = make_batch(seqs, block_len, num_blocks, rng);
    const BatchPlan plan = plan_batch(input, block_len, num_blocks);
    const int T = plan.num_tokens, W = (Hq + 2 * Hkv) * D;
    const auto qkv = random_values(rng, size_t(T) * W, dtype, -2, 2);
    const auto qn = random_values(rng, D, dtype, 0.5, 1.5);
    const auto kn = random_values(rng, D, dtype, 0.5, 1.5);
    const RopeTable rope = test_rope(c.rotary_dim, c.attention_factor);
    AttentionShape shape{Hq, Hkv, D, 1.0f / std::sqrt(float(D)), 0};

    Tensor gqn = put(*gpu, qn, {D}, dtype), gkn = put(*gpu, kn, {D}, dtype);
    Tensor gq = gpu->empty(dtype, {T, Hq * D});
    gpu->qkv_rope_store(put(*gpu, qkv, {T, W}, dtype), c.qk_norm ? &gqn : nullptr, c.qk_norm ? &gkn : nullptr, 1e-6f,
                        rope, shape, gcache, layer, gpu->upload_batch(plan), gq);
    Tensor cqn = put(*cpu, qn, {D}, DType::F32), ckn = put(*cpu, kn, {D}, DType::F32);
    Tensor cq = cpu->empty(DType::F32, {T, Hq * D});
    cpu->qkv_rope_store(put(*cpu, qkv, {T, W}, DType::F32), c.qk_norm ? &cqn : nullptr, c.qk_norm ? &ckn : nullptr,
                        1e-6f, rope, shape, ccache, layer, cpu->upload_batch(plan), cq);
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gq), cpu->download_f32(cq), tol);
    // The whole cache: written slots must agree, and nothing else may be written.
    const auto gc = gpu->download_f32(gcache.data);
    const auto cc = cpu->download_f32(ccache.data);
    TURBINE_EXPECT_CLOSE(gc, cc, tol);
    EXPECT_EQ(count_written(gc), size_t(T) * 2 * Hkv * D);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaAttention, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaAttentionBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
