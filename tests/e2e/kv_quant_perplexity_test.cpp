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

// One test for the three formats: ctest runs each test in its own process, and the Dense baseline they
// share is most of the time.
TEST_F(KvQuantPerplexity, EachFormatWithinItsBoundsOfDense) {
  for (KvFormat f : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    SCOPED_TRACE(kv_format_name(f));
    run_->expect_bounds(f);
  }
}

}  // namespace
}  // namespace turbine::test
