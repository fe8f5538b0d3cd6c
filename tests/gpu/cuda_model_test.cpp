// kjv-llama end to end on the GPU in bf16 against golden.json (PyTorch fp32 references): free
// greedy generation under the margin rule and teacher forcing at tolerance 0.5, and held-out
// perplexity within 0.5% of the bf16 reference.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/perplexity.h"
#include "gpu_model_util.h"

namespace turbine::test {
namespace {

constexpr double kMarginTol = 0.5;  // golden.json's tolerance for bf16/fp16 on the GPU
constexpr int kBlockLen = 16;

class CudaKjvLlama : public ::testing::Test {
 protected:
  void SetUp() override {
    TURBINE_REQUIRE_GPU();
    const auto dir = default_model_dir();
    if (!std::filesystem::exists(dir / "model.safetensors")) GTEST_SKIP() << "no model at " << dir;
    m_ = load_gpu_model(dir);
    ASSERT_EQ(m_->config.dtype, DType::BF16);
    cases_ = golden().at("kjv-llama");
  }
  std::unique_ptr<LoadedModel> m_;
  nlohmann::json cases_;
};

// All prompts prefilled in one batch, then decoded together; the next ids come from the GPU argmax.
TEST_F(CudaKjvLlama, GreedyGenerationMarginRule) {
  const int64_t V = m_->config.vocab_size;
  bool first = true;
  const auto got = batched_greedy(*m_, cases_, kBlockLen, [&](const Tensor& logits) {
    const std::vector<int32_t> next = m_->backend->argmax_rows(logits);
    if (first) {  // the GPU argmax agrees with the host's on the downloaded logits
      const auto host = m_->backend->download_f32(logits);
      for (size_t s = 0; s < next.size(); ++s) EXPECT_EQ(next[s], argmax(host.data() + s * V, V));
      first = false;
    }
    return next;
  });
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// One sequence at a time: its decode steps take the fused skinny GEMMs (norm, SwiGLU and RoPE
// inside the GEMM), which the five-prompt batch above does not.
TEST_F(CudaKjvLlama, GreedyOneAtATime) {
  for (size_t i = 0; i < cases_.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "prompt " << i);
    const nlohmann::json one = nlohmann::json::array({cases_[i]});
    const auto got = batched_greedy(*m_, one, kBlockLen);
    expect_greedy_margin_rule(one, got, kMarginTol);
  }
}

// prompt + greedy ids as one input with all logits: the argmax at every confident step.
TEST_F(CudaKjvLlama, TeacherForced) { expect_teacher_forced_cases(*m_, cases_, kBlockLen, kMarginTol); }

TEST_F(CudaKjvLlama, PerplexityNearBf16Reference) {
  const auto& ref = golden().at("kjv-llama-ppl");
  const auto dir = default_model_dir();
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load((dir / "tokenizer.model").string()).ok());
  std::ifstream file(dir / "kjv_eval.txt");
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::string text = buffer.str();
  const auto first = text.find_first_not_of(" \t\r\n"), last = text.find_last_not_of(" \t\r\n");
  text = text.substr(first, last - first + 1);
  std::vector<int32_t> stream;
  for (size_t at = 0; at <= text.size();) {
    size_t end = text.find("\n\n", at);
    if (end == std::string::npos) end = text.size();
    std::vector<int> ids;
    ASSERT_TRUE(sp.Encode(text.substr(at, end - at), &ids).ok());
    stream.push_back(1);
    stream.insert(stream.end(), ids.begin(), ids.end());
    at = end + 2;
  }
  ASSERT_EQ(int(stream.size()), ref.at("eval_tokens").get<int>());
  const int window = ref.at("window").get<int>();
  KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(window / kBlockLen, kBlockLen));
  const double ppl = perplexity(*m_->model, cache, stream, window);
  const double want = ref.at("bf16").get<double>();
  EXPECT_NEAR(ppl, want, 0.005 * want) << "bf16 reference " << want;
  std::printf("kjv-llama bf16 perplexity on the GPU: %.4f (reference %.4f)\n", ppl, want);
}

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaModelBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
