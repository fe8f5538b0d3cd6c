// kjv-llama's held-out perplexity with the KV cache quantized, on the CPU backend, against its own Dense
// cache (the bounds: kv_quant_ppl.h).
#include <gtest/gtest.h>

#include "e2e/kv_quant_ppl.h"

namespace turbine::test {
namespace {

class KvQuantPerplexity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = model_dir("kjv-llama");
    model_ = load_cpu_model(dir).release();
    run_ = new KvQuantPplRun(*model_, dir, "CPU");
  }
  static void TearDownTestSuite() {
    delete run_;
    delete model_;
    run_ = nullptr;
    model_ = nullptr;
  }
  static LoadedModel* model_;
  static KvQuantPplRun* run_;
};
LoadedModel* KvQuantPerplexity::model_ = nullptr;
KvQuantPplRun* KvQuantPerplexity::run_ = nullptr;

TEST_F(KvQuantPerplexity, StreamIsTheGoldenOne) {
  EXPECT_EQ(int64_t(run_->stream().size()), golden().at("kjv-llama-ppl").at("eval_tokens").get<int64_t>());
}

TEST_F(KvQuantPerplexity, Int8WithinFiveHundredthsOfAPercent) { run_->expect_bounds(KvFormat::Int8); }

TEST_F(KvQuantPerplexity, Int4WithinHalfAPercentAndNotDense) { run_->expect_bounds(KvFormat::Int4); }

TEST_F(KvQuantPerplexity, Fp8WithinHalfAPercent) { run_->expect_bounds(KvFormat::Fp8); }

}  // namespace
}  // namespace turbine::test
