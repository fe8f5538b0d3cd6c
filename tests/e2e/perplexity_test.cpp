// Held-out perplexity of kjv-llama under golden.json's kjv-llama-ppl rule. The stream is built
// with libsentencepiece directly (tokenizer.model), as the reference did.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <sstream>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"

namespace turbine::test {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// text stripped; chapters split on "\n\n"; stream = concat(BOS + ids(chapter)).
std::vector<int32_t> kjv_stream(const std::filesystem::path& dir, int bos) {
  sentencepiece::SentencePieceProcessor sp;
  EXPECT_TRUE(sp.Load((dir / "tokenizer.model").string()).ok());
  std::string text = read_file(dir / "kjv_eval.txt");
  const auto ws = " \t\n\r\f\v";
  text = text.substr(text.find_first_not_of(ws));
  text = text.substr(0, text.find_last_not_of(ws) + 1);
  std::vector<int32_t> stream;
  for (size_t start = 0;;) {
    const size_t end = text.find("\n\n", start);
    std::vector<int> ids;
    EXPECT_TRUE(sp.Encode(text.substr(start, end == std::string::npos ? std::string::npos : end - start), &ids).ok());
    stream.push_back(bos);
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return stream;
}

TEST(Perplexity, KjvLlamaMatchesGolden) {
  const auto dir = model_dir("kjv-llama");
  const auto& g = golden().at("kjv-llama-ppl");
  auto m = load_cpu_model(dir);
  const auto stream = kjv_stream(dir, m->config.bos_token_id);
  ASSERT_EQ(int64_t(stream.size()), g.at("eval_tokens").get<int64_t>());
  const int window = g.at("window").get<int>();
  KvCache cache = m->backend->allocate_kv_cache(m->model->kv_cache_spec(window / 16, 16));
  const PerplexityResult r = evaluate_perplexity(*m->model, cache, stream, window);
  const int64_t n = int64_t(stream.size());
  EXPECT_EQ(r.windows, (n + window - 2) / window);  // the last window counts with >= 2 tokens
  const double want = g.at("fp32").get<double>();
  EXPECT_NEAR(r.perplexity, want, want * 1e-3);
}

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
