// InternLM2 and the mixture-of-experts families against golden.json on the CPU: mixtral-tiny and
// qwen3-moe-tiny (their own goldens), and an InternLM2-layout copy of kjv-llama made at run time by
// ../shared/scripts/make_internlm2.py (the same function: kjv-llama's goldens hold for it). Each:
// first-step logits, free greedy generation alone and in one batch (margin rule), and perplexity.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "support/safetensors_writer.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

constexpr double kLogitTol = 1e-3;
constexpr double kMarginTol = 0.05;
constexpr int kBlockLen = 16;

// The InternLM2 copy of kjv-llama, made once per process (ctest runs each test in its own).
std::filesystem::path internlm2_copy() {
  static const std::filesystem::path dir = [] {
    const auto out = temp_dir("internlm2") / "kjv-internlm2";
    const std::string cmd = "/usr/bin/python3 " + (shared_dir() / "scripts" / "make_internlm2.py").string() + " " +
                            default_model_dir().string() + " " + out.string() + " > /dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    return out;
  }();
  return dir;
}

// "internlm2" is the copy, checked against kjv-llama's goldens.
struct Case {
  std::string name, golden;
};
// ctest lists the parameter by its name.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class MoeGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = GetParam().name == "internlm2" ? internlm2_copy() : model_dir(GetParam().name);
    if (!std::filesystem::exists(dir_ / "model.safetensors")) GTEST_SKIP() << "no model at " << dir_;
    m_ = load_cpu_model(dir_);
    cases_ = golden().at(GetParam().golden);
  }
  std::filesystem::path dir_;
  std::unique_ptr<LoadedModel> m_;
  nlohmann::json cases_;
};

TEST_P(MoeGolden, LoadsTheFamily) {
  const ModelConfig& c = m_->config;
  if (GetParam().name == "internlm2") {
    EXPECT_EQ(c.arch, Architecture::InternLM2);
  } else {
    EXPECT_GT(c.moe.num_experts, 0);
    for (int l = 0; l < c.num_layers; ++l) EXPECT_TRUE(c.is_moe_layer(l)) << l;
  }
}

TEST_P(MoeGolden, FirstStepTopLogits) {
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
  }
}

// All prompts prefilled together, then decoded together one token per step.
TEST_P(MoeGolden, GreedyBatchedMarginRule) {
  const auto got =
      batched_greedy(*m_, cases_, kBlockLen, [&](const Tensor& logits) { return m_->backend->argmax_rows(logits); });
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// Each prompt on its own: a prefill, then one token per step.
TEST_P(MoeGolden, GreedyAloneMarginRule) {
  std::vector<std::vector<int32_t>> got;
  for (const auto& c : cases_)
    got.push_back(forward_greedy(*m_->model, c.at("prompt_ids").get<std::vector<int32_t>>(),
                                 int(c.at("greedy_ids").size()), kBlockLen));
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

TEST_P(MoeGolden, PerplexityMatchesGolden) {
  const auto& g = golden().at(GetParam().golden + "-ppl");
  const auto tokenizer = load_tokenizer(dir_);
  std::ifstream in(dir_ / "kjv_eval.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto stream = perplexity_stream(text.str(), *tokenizer, m_->config.bos_token_id);
  ASSERT_EQ(int64_t(stream.size()), g.at("eval_tokens").get<int64_t>());
  const int window = g.at("window").get<int>();
  KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(window / kBlockLen, kBlockLen));
  const PerplexityResult r = evaluate_perplexity(*m_->model, cache, stream, window);
  const double want = g.at("fp32").get<double>();
  EXPECT_NEAR(r.perplexity, want, want * 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Families, MoeGolden,
                         ::testing::Values(Case{"mixtral-tiny", "mixtral-tiny"},
                                           Case{"qwen3-moe-tiny", "qwen3-moe-tiny"},
                                           Case{"internlm2", "kjv-llama"}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace turbine::test
