// The quantized KV cache on the GPU: the quantized attention cases of the op table (tests/op_cases:
// the context written by qkv_rope_store, then attention) against the CPU reference in bf16 and fp16,
// and kjv-llama's held-out perplexity (golden.json's rule) with each format against the GPU's own Dense
// cache: int8 within +0.05%, int4 and fp8 within +0.5%, int4 not equal to it.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

class CudaKvQuantPerplexity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!cuda_available()) return;
    const auto dir = default_model_dir();
    model_ = new LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr};
    model_->backend = make_gpu(model_->config.dtype);
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
  static LoadedModel* model_;
  static KvQuantPplRun* run_;
};
LoadedModel* CudaKvQuantPerplexity::model_ = nullptr;
KvQuantPplRun* CudaKvQuantPerplexity::run_ = nullptr;

TEST_F(CudaKvQuantPerplexity, Int8WithinFiveHundredthsOfAPercent) { run_->expect_bounds(KvFormat::Int8); }

TEST_F(CudaKvQuantPerplexity, Int4WithinHalfAPercentAndNotDense) { run_->expect_bounds(KvFormat::Int4); }

TEST_F(CudaKvQuantPerplexity, Fp8WithinHalfAPercent) { run_->expect_bounds(KvFormat::Fp8); }

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaKvQuantBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
