// Generator over the real kjv-llama on the CPU: golden greedy ids, context limits, callbacks.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/generator.h"
#include "pipeline/model_folder.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

LoadedModel& kjv() {
  static LoadedModel m = [] {
    BackendOptions options;
    options.threads = 2;
    return load_model_folder(test::shared_dir() / "models" / "kjv-llama", options);
  }();
  return m;
}

nlohmann::json first_golden_case() {
  std::ifstream in(test::shared_dir() / "golden" / "golden.json");
  return nlohmann::json::parse(in)["kjv-llama"][0];
}

}  // namespace

TEST(Generator, GreedyIdsMatchGoldenAndCallbacksSeeEveryStep) {
  const auto c = first_golden_case();
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto golden_ids = c["greedy_ids"].get<std::vector<int32_t>>();
  SamplingParams params;
  params.max_new_tokens = 12;
  params.ignore_eos = true;
  Generator generator(*kjv().model, *kjv().tokenizer, kjv().config.max_position_embeddings);
  std::vector<int32_t> seen;
  std::string streamed;
  const auto result = generator.generate(prompt, params, [&](int32_t id, const StreamStep& step) {
    seen.push_back(id);
    streamed += step.text;
  });
  ASSERT_EQ(result.ids.size(), 12u);
  EXPECT_EQ(result.ids, std::vector<int32_t>(golden_ids.begin(), golden_ids.begin() + 12));  // margins >= 0.1 here
  EXPECT_EQ(seen, result.ids);
  EXPECT_EQ(streamed, result.text);
  EXPECT_EQ(result.reason, FinishReason::Length);
}

TEST(Generator, StopsAtTheContextEndAndRejectsLongPrompts) {
  const auto prompt = first_golden_case()["prompt_ids"].get<std::vector<int32_t>>();  // 6 tokens
  SamplingParams params;
  params.max_new_tokens = 50;
  Generator small(*kjv().model, *kjv().tokenizer, 9, 4);
  const auto result = small.generate(prompt, params);
  EXPECT_EQ(result.ids.size(), 3u);  // 6 + 3 = the context of 9
  EXPECT_EQ(result.reason, FinishReason::Length);

  Generator tiny(*kjv().model, *kjv().tokenizer, 5);
  try {
    tiny.generate(prompt, params);
    FAIL() << "a prompt longer than the context must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("6 tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5 tokens"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tiny.generate(std::vector<int32_t>{}, params), Error);
  EXPECT_THROW(tiny.generate(std::vector<int32_t>{1, 99999}, params), Error);
}
