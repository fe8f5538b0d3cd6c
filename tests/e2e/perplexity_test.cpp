// Held-out perplexity under golden.json's <model>-ppl rule: kjv-llama (SentencePiece
// tokenizer.model), mistral-tiny (tokenizer.json; its 64-token sliding window is crossed in
// every 512-token window, so this is the strong sliding-window check), the mixture-of-experts
// models, and kjv-llama's InternLM2 copy against kjv-llama's figure.
#include <gtest/gtest.h>

#include <sstream>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_golden_perplexity(const std::string& name) {
  const auto dir = model_dir(name);
  if (!std::filesystem::exists(dir / "model.safetensors")) GTEST_SKIP() << "no model at " << dir;
  const auto& g = golden().at(golden_key(name) + "-ppl");
  auto m = load_cpu_model(dir);
  const auto tokenizer = load_tokenizer(dir);
  const auto stream = perplexity_stream(read_file(dir / "kjv_eval.txt"), *tokenizer, m->config.bos_token_id);
  ASSERT_EQ(int64_t(stream.size()), g.at("eval_tokens").get<int64_t>());
  const int window = g.at("window").get<int>();
  KvCache cache = m->backend->allocate_kv_cache(m->model->kv_cache_spec(window / 16, 16));
  const PerplexityResult r = evaluate_perplexity(*m->model, cache, stream, window);
  const int64_t n = int64_t(stream.size());
  EXPECT_EQ(r.windows, (n + window - 2) / window);  // the last window counts with >= 2 tokens
  EXPECT_EQ(r.scored_tokens, n - r.windows);
  const double want = g.at("fp32").get<double>();
  EXPECT_NEAR(r.perplexity, want, want * 1e-3);
}

TEST(Perplexity, KjvLlamaMatchesGolden) { check_golden_perplexity("kjv-llama"); }
TEST(Perplexity, MistralTinySlidingWindowMatchesGolden) { check_golden_perplexity("mistral-tiny"); }
TEST(Perplexity, MixtralTinyMatchesGolden) { check_golden_perplexity("mixtral-tiny"); }
TEST(Perplexity, Qwen3MoeTinyMatchesGolden) { check_golden_perplexity("qwen3-moe-tiny"); }
TEST(Perplexity, InternLM2CopyMatchesKjvLlama) { check_golden_perplexity("kjv-internlm2"); }

TEST(Perplexity, RejectsTooSmallInputsAndCaches) {
  auto m = load_cpu_model(model_dir("kjv-llama"), 1);
  KvCache cache = m->backend->allocate_kv_cache(m->model->kv_cache_spec(2, 16));
  const std::vector<int32_t> one = {1}, some = {1, 2, 3, 4};
  EXPECT_THROW(perplexity(*m->model, cache, one, 32), Error);
  EXPECT_THROW(perplexity(*m->model, cache, some, 1), Error);
  EXPECT_THROW(perplexity(*m->model, cache, some, 64), Error);  // 64 tokens need 4 blocks
  EXPECT_GT(perplexity(*m->model, cache, some, 32), 1.0);
}

}  // namespace
}  // namespace turbine::test
