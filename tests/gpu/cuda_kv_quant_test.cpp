// The quantized KV cache on the GPU: the quantized attention cases of the op table (tests/op_cases:
// the context written by qkv_rope_store, then attention) against the CPU reference in bf16 and fp16;
// the decode kernel (with the general kernel on a mixed step's prefill sequences) on caches of host-
// quantized rows against the CPU backend and against the general kernel alone (and with
// --flash-quantized-kv, the flash kernel on the prefill tiles against the CPU; with
// --kv-decode-wide-lanes, the decode kernel's 16-byte lanes on one head per KV head of 128 dims), and
// right after the step's own qkv_rope_store (the programmatic-dependent-launch path); and kjv-llama's held-out
// perplexity (golden.json's rule) with each format against the GPU's own Dense cache: int8 within
// +0.05%, int4 and fp8 within +0.5%, int4 not equal to it; the same with the prompt's prefill on the
// flash kernel (--flash-quantized-kv).
#ifdef TURBINE_WITH_CUDA
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "backend/kv_quant.h"

#include "e2e/e2e_util.h"
#include "e2e/kv_quant_ppl.h"
#include "gpu_test_util.h"
#include "op_cases.h"
#include "support/test_helpers.h"

namespace turbine::test {
namespace {

std::vector<OpCase> quantized_cases() {
  std::vector<OpCase> out;
  for (const OpCase& c : op_test_cases())
    if (c.kv != KvFormat::Dense) out.push_back(c);
  return out;
}

class CudaQuantizedKvOps : public ::testing::TestWithParam<std::tuple<DType, int>> {};

TEST_P(CudaQuantizedKvOps, MatchesTheCpuReference) {
  TURBINE_REQUIRE_GPU();
  const auto [dtype, index] = GetParam();
  const OpCase c = quantized_cases().at(size_t(index));
  SCOPED_TRACE(c.name());
  auto gpu = make_gpu(dtype);
  auto cpu = make_cpu();
  const uint32_t seed = 99u + uint32_t(index);
  PreparedOp got = prepare_op(*gpu, c, seed, dtype), want = prepare_op(*cpu, c, seed, dtype);
  got.run();
  want.run();
  const std::vector<float> g = got.outputs(), w = want.outputs();
  ASSERT_EQ(g.size(), w.size());
  // The dtype's rounding of the output (the values are dequantized to fp32 on both backends; a code that
  // lands on the other side of a rounding boundary moves one value by a step, far less than this).
  const double tol = dtype == DType::BF16 ? 1.2e-2 : 2e-3;
  expect_close_to_reference(g, w, tol);
}

INSTANTIATE_TEST_SUITE_P(Table, CudaQuantizedKvOps,
                         ::testing::Combine(::testing::Values(DType::BF16, DType::F16),
                                            ::testing::Range(0, int(quantized_cases().size()))),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == DType::BF16 ? "bf16" : "f16") + "_case" +
                                  std::to_string(std::get<1>(info.param));
                         });

// Every row of every block of a quantized cache, quantized on the host from random values with the
// row's own centre and spread, so that a row read with another row's parameters (a K row with its V
// row's, a neighbour's) is far off.
std::vector<uint8_t> random_quantized_cache(const KvCacheSpec& spec, std::mt19937& rng) {
  std::vector<uint8_t> bytes(spec.bytes());
  const int D = spec.head_dim;
  const size_t element_bytes = kv_row_element_bytes(spec.format, D, spec.dtype);
  const size_t param_bytes = kv_row_param_bytes(spec.format);
  std::uniform_real_distribution<float> centre(-1.0f, 1.0f), spread(0.05f, 2.0f), unit(-1.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(D));
  for (int block = 0; block < spec.num_layers * spec.num_blocks; ++block) {
    uint8_t* base = bytes.data() + size_t(block) * spec.block_bytes();
    for (size_t r = 0; r < size_t(2) * spec.num_kv_heads * spec.block_len; ++r) {  // [k|v][kv_head][offset]
      const float c = centre(rng), s = spread(rng);
      for (float& x : row) x = c + s * unit(rng);
      uint16_t params[2] = {0, 0};
      kv_quantize_row(spec.format, row.data(), D, base + r * element_bytes, params);
      std::memcpy(base + spec.param_offset() + r * param_bytes, params, param_bytes);
    }
  }
  return bytes;
}

// A GPU cache holding `bytes`; the copy is complete (the backend's stream does not wait for the
// default stream) before the cache is used.
KvCache gpu_cache_with(Backend& gpu, const KvCacheSpec& spec, const std::vector<uint8_t>& bytes) {
  KvCache cache = gpu.allocate_kv_cache(spec);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // the allocation's zeroing, on the backend's stream
  EXPECT_EQ(cudaMemcpy(cache.data.data, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return cache;
}

struct QuantDecodeCase {
  const char* name;
  int heads, kv_heads, head_dim, block_len, window;
  std::vector<SeqSpec> seqs;
};

// Decode batches (one new token per sequence) take the decode kernel; a mixed step adds the general
// kernel on its prefill sequences; 16 query heads per KV head and prefill-only steps stay on the
// general kernel. Contexts (context + 1) of 1, block_len - 1, block_len, block_len + 1 and long ones
// split over many blocks; block lengths 16 and 24 (not a power of two); sliding windows.
const std::vector<QuantDecodeCase>& quant_decode_cases() {
  static const std::vector<QuantDecodeCase> cases = {
      {"mha_d64_ctx1", 4, 4, 64, 16, 0, {{0, 1}}},
      {"mha_d128_block_edges", 4, 4, 128, 16, 0, {{14, 1}, {15, 1}, {16, 1}, {0, 1}, {47, 1}}},
      {"gqa4_d64_block_edges_bl24", 8, 2, 64, 24, 0, {{22, 1}, {24, 1}, {0, 1}, {300, 1}}},
      {"gqa8_d128_mixed_lengths", 16, 2, 128, 16, 0, {{0, 1}, {15, 1}, {16, 1}, {1500, 1}, {63, 1}}},
      {"mha_d128_long_split", 2, 2, 128, 24, 0, {{4999, 1}}},
      {"gqa8_d64_long_split", 8, 1, 64, 16, 0, {{3999, 1}}},
      {"gqa4_d128_long_split_bl24", 4, 1, 128, 24, 0, {{2500, 1}}},
      {"gqa2_d64_window", 4, 2, 64, 16, 40, {{300, 1}, {20, 1}, {39, 1}, {40, 1}}},
      {"gqa8_d128_window_split", 8, 1, 128, 16, 100, {{2000, 1}, {99, 1}}},
      {"mha_d64_many_decodes", 4, 4, 64, 16, 0, std::vector<SeqSpec>(40, SeqSpec{63, 1})},
      {"mha_d128_window_split", 4, 4, 128, 16, 100, {{2000, 1}, {99, 1}, {100, 1}}},
      {"mha_d128_many_decodes_bl24", 2, 2, 128, 24, 0, std::vector<SeqSpec>(40, SeqSpec{71, 1})},
      {"mixed_mha_d128", 4, 4, 128, 16, 0, {{0, 37}, {300, 1}, {45, 20}, {16, 1}}},
      {"mixed_gqa8_d64_window_bl24", 8, 1, 64, 24, 30, {{500, 77}, {30, 1}, {0, 63}, {900, 1}, {7, 2}}},
      {"mixed_gqa4_d128_long_decode", 8, 2, 128, 16, 0, {{2000, 1}, {0, 130}, {5, 1}}},
      {"prefill_only_gqa2_d64", 4, 2, 64, 16, 0, {{0, 100}, {33, 40}}},
      {"gqa16_mixed_general", 16, 1, 64, 16, 0, {{0, 70}, {50, 1}}},
  };
  return cases;
}

class CudaQuantizedDecode : public CpuVsGpuAndGeneral {
 protected:
  CudaQuantizedDecode() : CpuVsGpuAndGeneral(4242) {}
  void SetUp() override {
    CpuVsGpuAndGeneral::SetUp();
    if (IsSkipped()) return;
    CudaOptions with_flash;
    with_flash.flash_quantized_kv = true;
    flash = make_gpu(dtype, with_flash);
    CudaOptions with_wide;
    with_wide.kv_decode_wide_lanes = true;
    wide = make_gpu(dtype, with_wide);
  }
  // The flash kernel on the prefill tiles over a quantized cache (--flash-quantized-kv).
  std::unique_ptr<Backend> flash;
  // The decode kernel's wide lanes (--kv-decode-wide-lanes; the mha_d128 cases reach them).
  std::unique_ptr<Backend> wide;
  // `rows` [first, last) of an output, one sequence's.
  static std::vector<float> rows(const std::vector<float>& out, size_t first, size_t last) {
    return std::vector<float>(out.begin() + first, out.begin() + last);
  }
};

// Identical bytes in both caches: the backends differ only in summation order and the output's rounding,
// so the dense attention test's tolerance holds.
TEST_P(CudaQuantizedDecode, MatchesCpuAndTheGeneralKernel) {
  for (KvFormat format : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    for (const auto& c : quant_decode_cases()) {
      SCOPED_TRACE(std::string(kv_format_name(format)) + " " + c.name);
      const int num_blocks = blocks_needed(c.seqs, c.block_len);
      KvCacheSpec spec{1, num_blocks, c.block_len, c.kv_heads, c.head_dim, DType::F32, format};
      const std::vector<uint8_t> bytes = random_quantized_cache(spec, rng);
      KvCache ccache = cpu->allocate_kv_cache(spec);
      std::memcpy(ccache.data.data, bytes.data(), bytes.size());
      spec.dtype = dtype;
      KvCache gcache = gpu_cache_with(*gpu, spec, bytes);

      const BatchInput input = make_batch(c.seqs, c.block_len, num_blocks, rng);
      const BatchPlan plan = plan_batch(input, c.block_len, num_blocks);
      const int T = plan.num_tokens, QD = c.heads * c.head_dim;
      const auto q = random_values(rng, size_t(T) * QD, dtype, -2, 2);
      const AttentionShape shape{c.heads, c.kv_heads, c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), c.window};

      // NaN everywhere first: a row that no kernel writes fails the finiteness check.
      auto run_gpu = [&](Backend& b, float fill) {
        Tensor out = put(b, std::vector<float>(size_t(T) * QD, fill), {T, QD}, dtype);
        b.attention(put(b, q, {T, QD}, dtype), gcache, 0, b.upload_batch(plan), shape, out);
        return b.download_f32(out);
      };
      const auto got = run_gpu(*gpu, NAN);
      const auto general_got = run_gpu(*general, NAN);
      const auto flash_got = run_gpu(*flash, NAN);
      const auto wide_got = run_gpu(*wide, NAN);
      Tensor cout = cpu->empty(DType::F32, {T, QD});
      cpu->attention(put(*cpu, q, {T, QD}, DType::F32), ccache, 0, cpu->upload_batch(plan), shape, cout);
      const auto want = cpu->download_f32(cout);
      const double tol = relative_tolerance(dtype);
      // Sequence by sequence, so a short one is not hidden by a long one's many good rows.
      for (int s = 0; s < plan.num_sequences; ++s) {
        SCOPED_TRACE("sequence " + std::to_string(s));
        const size_t b = size_t(plan.query_start[s]) * QD, e = size_t(plan.query_start[s + 1]) * QD;
        TURBINE_EXPECT_CLOSE(rows(got, b, e), rows(want, b, e), tol);
        TURBINE_EXPECT_CLOSE(rows(general_got, b, e), rows(want, b, e), tol);
        TURBINE_EXPECT_CLOSE(rows(got, b, e), rows(general_got, b, e), tol);
        TURBINE_EXPECT_CLOSE(rows(flash_got, b, e), rows(want, b, e), tol);
        TURBINE_EXPECT_CLOSE(rows(wide_got, b, e), rows(want, b, e), tol);
      }
      // Again into a zeroed output: split-K decode must have left its merge counters at zero.
      EXPECT_EQ(run_gpu(*gpu, 0.0f), got);
      EXPECT_EQ(run_gpu(*wide, 0.0f), wide_got);
    }
  }
}

// A step as the model runs it: qkv_rope_store writes the new tokens' rows (over stale rows already in
// those slots), then attention reads them at once; on an H200 the decode kernel starts under the store
// (programmatic dependent launch) and must read the fresh rows, whose parameters share cache sectors
// with rows it may load before waiting. Short contexts give the new token much weight. Each backend
// quantizes its own rows (a code may differ by one step), so the tolerance is the op table's.
TEST_P(CudaQuantizedDecode, StoreThenDecodeStepMatchesCpu) {
  const std::vector<QuantDecodeCase> cases = {
      {"mha_d64_short", 4, 4, 64, 16, 0, {{0, 1}, {5, 1}, {15, 1}, {16, 1}, {40, 1}}},
      {"gqa4_d128_short", 8, 2, 128, 16, 0, {{3, 1}, {200, 1}, {1, 1}}},
      {"gqa8_d64_window", 8, 1, 64, 24, 8, {{30, 1}, {2, 1}}},
      {"mixed_mha_d128", 4, 4, 128, 16, 0, {{0, 20}, {9, 1}, {31, 1}}},
      {"mha_d128_short_bl24", 2, 2, 128, 24, 0, {{0, 1}, {23, 1}, {24, 1}, {60, 1}}},
  };
  const double tol = dtype == DType::BF16 ? 1.2e-2 : 2e-3;
  for (KvFormat format : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(kv_format_name(format)) + " " + c.name);
      const int D = c.head_dim, Hq = c.heads, Hkv = c.kv_heads;
      const int num_blocks = blocks_needed(c.seqs, c.block_len);
      KvCacheSpec spec{1, num_blocks, c.block_len, Hkv, D, DType::F32, format};
      const std::vector<uint8_t> bytes = random_quantized_cache(spec, rng);
      KvCache ccache = cpu->allocate_kv_cache(spec);
      std::memcpy(ccache.data.data, bytes.data(), bytes.size());
      spec.dtype = dtype;
      KvCache gcache = gpu_cache_with(*gpu, spec, bytes), general_cache = gpu_cache_with(*general, spec, bytes);
      KvCache wide_cache = gpu_cache_with(*wide, spec, bytes);

      const BatchInput input = make_batch(c.seqs, c.block_len, num_blocks, rng);
      const BatchPlan plan = plan_batch(input, c.block_len, num_blocks);
      const int T = plan.num_tokens, W = (Hq + 2 * Hkv) * D;
      const auto qkv = random_values(rng, size_t(T) * W, dtype, -2, 2);
      const RopeTable rope = test_rope(D);
      const AttentionShape shape{Hq, Hkv, D, 1.0f / std::sqrt(float(D)), c.window};

      auto run_gpu = [&](Backend& b, KvCache& cache) {
        const BatchMeta meta = b.upload_batch(plan);
        Tensor q = b.empty(dtype, {T, Hq * D});
        Tensor out = put(b, std::vector<float>(size_t(T) * Hq * D, NAN), {T, Hq * D}, dtype);
        b.qkv_rope_store(put(b, qkv, {T, W}, dtype), nullptr, nullptr, 1e-6f, rope, shape, cache, 0, meta, q);
        b.attention(q, cache, 0, meta, shape, out);
        return b.download_f32(out);
      };
      const auto got = run_gpu(*gpu, gcache);
      const auto general_got = run_gpu(*general, general_cache);
      const auto wide_got = run_gpu(*wide, wide_cache);
      const BatchMeta cmeta = cpu->upload_batch(plan);
      Tensor cq = cpu->empty(DType::F32, {T, Hq * D}), cout = cpu->empty(DType::F32, {T, Hq * D});
      cpu->qkv_rope_store(put(*cpu, qkv, {T, W}, DType::F32), nullptr, nullptr, 1e-6f, rope, shape, ccache, 0, cmeta,
                          cq);
      cpu->attention(cq, ccache, 0, cmeta, shape, cout);
      const auto want = cpu->download_f32(cout);
      for (int s = 0; s < plan.num_sequences; ++s) {
        SCOPED_TRACE("sequence " + std::to_string(s));
        const size_t b = size_t(plan.query_start[s]) * Hq * D, e = size_t(plan.query_start[s + 1]) * Hq * D;
        expect_close_to_reference(rows(got, b, e), rows(want, b, e), tol);
        // Both GPU caches hold the same codes (the same store kernel wrote them).
        TURBINE_EXPECT_CLOSE(rows(got, b, e), rows(general_got, b, e), relative_tolerance(dtype));
        TURBINE_EXPECT_CLOSE(rows(wide_got, b, e), rows(general_got, b, e), relative_tolerance(dtype));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaQuantizedDecode, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

// Flash: the prompt's prefill tiles over a quantized cache on the flash kernel (--flash-quantized-kv),
// not the general one.
template <bool Flash>
class KvQuantPerplexityOn : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!cuda_available()) return;
    const auto dir = default_model_dir();
    model_ = new LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr};
    CudaOptions options;
    options.flash_quantized_kv = Flash;
    model_->backend = make_gpu(model_->config.dtype, options);
    model_->model = std::make_unique<LlamaModel>(model_->config, model_->checkpoint, *model_->backend);
    run_ = new KvQuantPplRun(*model_, dir, "GPU");
  }
  static void TearDownTestSuite() {
    delete run_;
    delete model_;
    run_ = nullptr;
    model_ = nullptr;
  }
  void SetUp() override { TURBINE_REQUIRE_GPU(); }
  static inline LoadedModel* model_ = nullptr;
  static inline KvQuantPplRun* run_ = nullptr;
};
using CudaKvQuantPerplexity = KvQuantPerplexityOn<false>;
using CudaKvQuantPerplexityFlash = KvQuantPerplexityOn<true>;

TEST_F(CudaKvQuantPerplexity, Int8WithinFiveHundredthsOfAPercent) { run_->expect_bounds(KvFormat::Int8); }

TEST_F(CudaKvQuantPerplexity, Int4WithinHalfAPercentAndNotDense) { run_->expect_bounds(KvFormat::Int4); }

TEST_F(CudaKvQuantPerplexity, Fp8WithinHalfAPercent) { run_->expect_bounds(KvFormat::Fp8); }

TEST_F(CudaKvQuantPerplexityFlash, Int8WithinFiveHundredthsOfAPercent) { run_->expect_bounds(KvFormat::Int8); }

TEST_F(CudaKvQuantPerplexityFlash, Int4WithinHalfAPercentAndNotDense) { run_->expect_bounds(KvFormat::Int4); }

TEST_F(CudaKvQuantPerplexityFlash, Fp8WithinHalfAPercent) { run_->expect_bounds(KvFormat::Fp8); }

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaKvQuantBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
