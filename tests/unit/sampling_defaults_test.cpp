#include <gtest/gtest.h>

#include "core/byte_size.h"
#include "core/error.h"
#include "engine/sampling_defaults.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {
const Tokenizer& kjv() {
  static auto tok = load_tokenizer(test::shared_dir() / "models" / "kjv-llama");
  return *tok;
}
}  // namespace

TEST(SamplingDefaults, GreedyUnlessDoSample) {
  GenerationConfig gen;
  gen.temperature = 0.7;
  gen.top_k = 10;
  gen.repetition_penalty = 1.3;
  ModelConfig config;
  auto p = default_sampling(gen, config, kjv());
  EXPECT_EQ(p.temperature, 0.0f);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.repetition_penalty, 1.0f);
  gen.do_sample = true;
  p = default_sampling(gen, config, kjv());
  EXPECT_FLOAT_EQ(p.temperature, 0.7f);
  EXPECT_EQ(p.top_k, 10);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.3f);
  EXPECT_FLOAT_EQ(p.top_p, 1.0f);
  gen = {};
  gen.do_sample = true;  // transformers' defaults where the file is silent
  p = default_sampling(gen, config, kjv());
  EXPECT_FLOAT_EQ(p.temperature, 1.0f);
  EXPECT_EQ(p.top_k, 50);
}

TEST(SamplingDefaults, StopSetIsGenerationEosPlusTokenizerEos) {
  GenerationConfig gen;
  ModelConfig config;
  config.eos_token_ids = {7};
  gen.eos_token_ids = {5, 2};
  EXPECT_EQ(default_sampling(gen, config, kjv()).stop_ids, (std::vector<int32_t>{2, 5}));
  gen.eos_token_ids = {};  // no generation_config eos: config.json's
  EXPECT_EQ(default_sampling(gen, config, kjv()).stop_ids, (std::vector<int32_t>{2, 7}));
}

TEST(ByteSize, ParsesUnits) {
  EXPECT_EQ(parse_byte_size("4GiB", "--x"), size_t(4) << 30);
  EXPECT_EQ(parse_byte_size("512MiB", "--x"), size_t(512) << 20);
  EXPECT_EQ(parse_byte_size("2GB", "--x"), size_t(2000000000));
  EXPECT_EQ(parse_byte_size("1.5kib", "--x"), size_t(1536));
  EXPECT_EQ(parse_byte_size("100", "--x"), size_t(100));
  EXPECT_THROW(parse_byte_size("4 parsecs", "--x"), Error);
  EXPECT_THROW(parse_byte_size("0GiB", "--x"), Error);
  EXPECT_THROW(parse_byte_size("", "--x"), Error);
}
