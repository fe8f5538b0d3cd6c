// The tiny model families against golden.json (PyTorch fp32 references): first-step logits, free
// greedy generation (margin rule) in one mixed batch and one prompt at a time, and teacher forcing
// fed in prefill chunks on top of existing context. kjv-internlm2 is kjv-llama in InternLM2's layout
// (e2e_util.h), checked against kjv-llama's goldens.
#include <gtest/gtest.h>

#include <algorithm>

#include "e2e/e2e_util.h"

namespace turbine::test {
namespace {

constexpr double kLogitTol = 1e-3;
constexpr double kMarginTol = 0.05;
constexpr int kBlockLen = 16;

class ModelGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto dir = model_dir(GetParam());
    if (!std::filesystem::exists(dir / "model.safetensors")) GTEST_SKIP() << "no model at " << dir;
    m_ = load_cpu_model(dir);
    cases_ = golden().at(golden_key(GetParam()));
  }
  std::unique_ptr<LoadedModel> m_;
  nlohmann::json cases_;
};

TEST_P(ModelGolden, FirstStepTopLogits) {
  const int64_t V = m_->config.vocab_size;
  for (const auto& c : cases_) {
    const auto prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(4, kBlockLen));
    BatchInput in;
    in.token_ids = prompt;
    in.sequences.push_back({0, int32_t(prompt.size()), block_range(0, 4), false});
    const auto logits = m_->backend->download_f32(m_->model->forward(in, cache));
    ASSERT_EQ(logits.size(), size_t(V));
    for (const auto& entry : c.at("top10_first")) {
      const int id = entry[0].get<int>();
      EXPECT_NEAR(logits[id], entry[1].get<double>(), kLogitTol) << c.at("prompt") << " id " << id;
    }
    EXPECT_EQ(argmax(logits.data(), V), c.at("top10_first")[0][0].get<int>());
  }
}

// All prompts prefilled together, then decoded together one token per step.
TEST_P(ModelGolden, GreedyGenerationMarginRule) {
  const auto got = batched_greedy(*m_, cases_, kBlockLen);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// Each prompt on its own: a prefill, then one token per step.
TEST_P(ModelGolden, GreedyAloneMarginRule) {
  const auto got = greedy_each_alone(*m_->model, cases_, kBlockLen);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// prompt + greedy ids fed in chunks of 7 tokens with all logits: every confident step's argmax.
TEST_P(ModelGolden, TeacherForcedInChunks) {
  const int64_t V = m_->config.vocab_size;
  for (const auto& c : cases_) {
    const std::vector<int32_t> ids = teacher_forcing_ids(c);
    const int blocks = int((ids.size() + kBlockLen - 1) / kBlockLen);
    KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(blocks, kBlockLen));
    std::vector<int> argmaxes;
    for (size_t done = 0; done < ids.size(); done += 7) {
      const size_t n = std::min<size_t>(7, ids.size() - done);
      BatchInput in;
      in.token_ids.assign(ids.begin() + done, ids.begin() + done + n);
      in.sequences.push_back({int32_t(done), int32_t(n), block_range(0, blocks), true});
      const auto logits = m_->backend->download_f32(m_->model->forward(in, cache));
      ASSERT_EQ(logits.size(), n * V);
      for (size_t i = 0; i < n; ++i) argmaxes.push_back(argmax(logits.data() + i * V, V));
    }
    expect_teacher_forced(c, argmaxes, kMarginTol);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ModelGolden,
                         ::testing::Values("kjv-llama", "qwen2-tiny", "qwen3-tiny", "mistral-tiny", "mixtral-tiny",
                                           "qwen3-moe-tiny", "kjv-internlm2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace turbine::test
