// kjv-llama split over 2 and 4 CPU ranks (threads of this process talking through the CPU
// communicator): with 2 KV heads, tp=2 gives each rank one and tp=4 gives each rank a copy of the
// one its query head reads. Against golden.json (margin rule 0.05): teacher forcing, free greedy
// decoding of each case alone and of all in one batch, the engine, and held-out perplexity
// within 0.1%.
#include <gtest/gtest.h>

#include <sstream>

#include "e2e/e2e_util.h"
#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "model/shard_layout.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

constexpr double kMarginTol = 0.05;
constexpr int kBlockLen = 16;

class TensorParallel : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(default_model_dir() / "model.safetensors")) GTEST_SKIP() << "no kjv-llama";
    m_ = load_cpu_model_tp(default_model_dir(), GetParam());
    cases_ = golden().at("kjv-llama");
  }
  std::unique_ptr<LoadedModel> m_;
  nlohmann::json cases_;
};

TEST_P(TensorParallel, TeacherForcedInChunks) {
  const int64_t V = m_->config.vocab_size;
  for (const auto& c : cases_) {
    const std::vector<int32_t> ids = teacher_forcing_ids(c);
    const int blocks = int((ids.size() + kBlockLen - 1) / kBlockLen);
    KvCache cache = m_->model->allocate_kv_cache(blocks, kBlockLen);
    ASSERT_EQ(cache.ranks.size(), size_t(GetParam() - 1));
    std::vector<int> argmaxes;
    for (size_t done = 0; done < ids.size(); done += 5) {
      const size_t n = std::min<size_t>(5, ids.size() - done);
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

TEST_P(TensorParallel, GreedyAloneMarginRule) {
  const auto got = greedy_each_alone(*m_->model, cases_, kBlockLen);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

TEST_P(TensorParallel, GreedyBatchedMarginRule) {
  const auto got = batched_greedy(*m_, cases_, kBlockLen);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// Every golden prompt submitted at once to an engine over the ranks (continuous batching, one KV
// cache per rank of the same block count), each request's ids under the margin rule.
TEST_P(TensorParallel, EngineBatchedMarginRule) {
  const auto tokenizer = load_tokenizer(default_model_dir());
  Engine engine(*m_->model, *tokenizer, checked_engine_options(64, kBlockLen));
  std::vector<RequestHandle> handles;
  for (const auto& c : cases_) {
    SamplingParams p;
    p.max_new_tokens = int(c.at("greedy_ids").size());
    handles.push_back(engine.submit({c.at("prompt_ids").get<std::vector<int32_t>>(), p, {}, {}}));
  }
  std::vector<std::vector<int32_t>> got;
  for (auto& h : handles) got.push_back(h.wait().ids);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
  expect_engine_clean(engine);
}

TEST_P(TensorParallel, PerplexityWithinATenthOfAPercent) {
  const auto& g = golden().at("kjv-llama-ppl");
  const auto tokenizer = load_tokenizer(default_model_dir());
  std::ifstream in(default_model_dir() / "kjv_eval.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto stream = perplexity_stream(text.str(), *tokenizer, m_->config.bos_token_id);
  const int window = g.at("window").get<int>();
  KvCache cache = m_->model->allocate_kv_cache(window / 16, 16);
  const PerplexityResult r = evaluate_perplexity(*m_->model, cache, stream, window);
  const double want = g.at("fp32").get<double>();
  EXPECT_NEAR(r.perplexity, want, want * 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Ranks, TensorParallel, ::testing::Values(2, 4),
                         [](const auto& info) { return "tp" + std::to_string(info.param); });

// One rank talking through a communicator of one (the path the NCCL build's tp=1 test takes on a GPU).
TEST(TensorParallelOneRank, ThroughTheCommunicatorMatchesTheGoldens) {
  if (!std::filesystem::exists(default_model_dir() / "model.safetensors")) GTEST_SKIP() << "no kjv-llama";
  auto m = load_cpu_model_tp(default_model_dir(), 1, 2, true);
  EXPECT_FALSE(m->model->replayable());  // steps with collectives are never recorded
  const auto& cases = golden().at("kjv-llama");
  const auto got = batched_greedy(*m, cases, kBlockLen);
  expect_greedy_margin_rule(cases, got, kMarginTol);
}

TEST(TensorParallelLayout, KjvHeadsAcrossRanks) {
  const ModelConfig c = load_model_config(default_model_dir());  // 4 query heads, 2 KV heads
  const ShardLayout two = shard_layout(c, 1, 2);
  EXPECT_EQ(two.q_heads, 2);
  EXPECT_EQ(two.first_q_head, 2);
  EXPECT_EQ(two.kv_heads, 1);
  EXPECT_EQ(two.first_kv_head, 1);
  EXPECT_EQ(two.inter_begin, c.intermediate_size / 2);
  EXPECT_EQ(two.vocab_begin, c.vocab_size / 2);
  EXPECT_EQ(two.embed_rows(), c.vocab_size / 2 + 1);  // the row of zeros for other ranks' tokens
  for (int r = 0; r < 4; ++r) {                       // fewer KV heads than ranks: each rank a copy of its query head's
    const ShardLayout four = shard_layout(c, r, 4);
    EXPECT_EQ(four.q_heads, 1);
    EXPECT_EQ(four.kv_heads, 1);
    EXPECT_EQ(four.first_kv_head, r / 2);
  }
  EXPECT_EQ(shard_layout(c, 0, 1).embed_rows(), c.vocab_size);
}

TEST(TensorParallelLayout, RanksThatDoNotDivideTheHeadsAreAnError) {
  const ModelConfig c = load_model_config(default_model_dir());
  for (int tp : {3, 8}) {
    try {
      shard_layout(c, 0, tp);
      ADD_FAILURE() << "tp " << tp << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--tp " + std::to_string(tp)), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(load_cpu_model_tp(default_model_dir(), 3), Error);
}

}  // namespace
}  // namespace turbine::test
