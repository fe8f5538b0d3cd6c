#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/perplexity_stream.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;

TEST(PerplexityStream, KjvEvalHasTheGoldenTokenCount) {
  const auto dir = test::shared_dir() / "models" / "kjv-llama";
  auto tok = load_tokenizer(dir);
  std::ifstream in(dir / "kjv_eval.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::ifstream golden_in(test::shared_dir() / "golden" / "golden.json");
  const auto golden = nlohmann::json::parse(golden_in);
  const auto stream = perplexity_stream(text.str(), *tok, 1);
  EXPECT_EQ(int64_t(stream.size()), golden["kjv-llama-ppl"]["eval_tokens"].get<int64_t>());
  EXPECT_EQ(stream.front(), 1);
}

TEST(PerplexityStream, ChaptersStartWithBos) {
  auto tok = load_tokenizer(test::shared_dir() / "models" / "kjv-llama");
  const auto stream = perplexity_stream("\n  Hello world\n\nHello\n\n\nworld \n", *tok, 1);
  // "Hello world" | "Hello" | "\nworld"
  std::vector<int32_t> expected = {1};
  for (auto part : {"Hello world"})
    for (int32_t id : tok->encode(part)) expected.push_back(id);
  expected.push_back(1);
  for (int32_t id : tok->encode("Hello")) expected.push_back(id);
  expected.push_back(1);
  for (int32_t id : tok->encode("\nworld")) expected.push_back(id);
  EXPECT_EQ(stream, expected);
}
