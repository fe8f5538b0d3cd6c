// The engine's logprobs and presence/frequency penalties on kjv-llama (CPU): each generated
// token's logprob is the log-softmax of the model's logits at that position (computed here by a
// separate forward over prompt + generated ids), the first step's top logprobs match golden.json's
// top10_first as differences, penalised greedy steps pick the argmax of the formula, and requests
// with and without these settings share a batch without changing each other's ids.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "e2e/e2e_util.h"
#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

constexpr int kBlockLen = 16;

class EngineLogprobs : public KjvEngineSuite {
 protected:
  // Logits rows after every token of prompt + generated, from one prefill of them all.
  static std::vector<std::vector<float>> forward_rows(const std::vector<int32_t>& prompt,
                                                      const std::vector<int32_t>& generated) {
    std::vector<int32_t> ids = prompt;
    ids.insert(ids.end(), generated.begin(), generated.end());
    const int blocks = int((ids.size() + kBlockLen - 1) / kBlockLen);
    KvCache cache = model_->backend->allocate_kv_cache(model_->model->kv_cache_spec(blocks, kBlockLen));
    BatchInput in;
    in.token_ids = ids;
    in.sequences.push_back({0, int32_t(ids.size()), block_range(0, blocks), true});
    const auto all = model_->backend->download_f32(model_->model->forward(in, cache));
    const size_t V = size_t(model_->config.vocab_size);
    std::vector<std::vector<float>> rows;
    // Row prompt.size() - 1 + i holds the logits that chose generated[i].
    for (size_t i = 0; i < generated.size(); ++i) {
      const size_t at = prompt.size() - 1 + i;
      rows.emplace_back(all.begin() + at * V, all.begin() + (at + 1) * V);
    }
    return rows;
  }
};

std::vector<double> log_softmax(const std::vector<float>& x) {
  double max = -INFINITY, sum = 0;
  for (float v : x) max = std::max(max, double(v));
  for (float v : x) sum += std::exp(double(v) - max);
  std::vector<double> out;
  for (float v : x) out.push_back(double(v) - max - std::log(sum));
  return out;
}

TEST_F(EngineLogprobs, GreedyLogprobsAreTheLogSoftmaxOfTheModelsLogits) {
  for (const auto& c : golden().at("kjv-llama")) {
    const auto prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    SamplingParams p = greedy(8);
    p.logprobs = true;
    p.top_logprobs = 10;
    const RequestResult r = run_alone(prompt, p);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.logprobs.size(), r.ids.size());
    ASSERT_FALSE(r.ids.empty());
    const auto rows = forward_rows(prompt, r.ids);
    for (size_t i = 0; i < r.ids.size(); ++i) {
      const TokenLogprobs& lp = r.logprobs[i];
      const auto want = log_softmax(rows[i]);
      EXPECT_EQ(lp.chosen.id, r.ids[i]);
      EXPECT_NEAR(lp.chosen.logprob, want[r.ids[i]], 1e-3) << "step " << i;
      ASSERT_EQ(lp.top.size(), 10u);
      // Greedy: the chosen token is the most likely one.
      EXPECT_EQ(lp.top[0].id, lp.chosen.id) << "step " << i;
      EXPECT_EQ(lp.top[0].logprob, lp.chosen.logprob) << "step " << i;
      for (size_t k = 0; k < lp.top.size(); ++k) {
        EXPECT_NEAR(lp.top[k].logprob, want[lp.top[k].id], 1e-3);
        if (k) {
          EXPECT_LE(lp.top[k].logprob, lp.top[k - 1].logprob);
        }
      }
    }
    // The first step against the PyTorch reference: logprob differences are logit differences.
    const auto top10 = c.at("top10_first");
    std::map<int32_t, float> first;
    for (const TokenLogprob& t : r.logprobs[0].top) first[t.id] = t.logprob;
    const int32_t lead = top10[0][0].get<int32_t>();
    ASSERT_TRUE(first.count(lead));
    for (const auto& entry : top10) {
      const int32_t id = entry[0].get<int32_t>();
      if (!first.count(id)) {
        // Only a near tie at the edge of the ten may swap an id out.
        EXPECT_NEAR(entry[1].get<double>(), top10[9][1].get<double>(), 1e-3) << "id " << id;
        continue;
      }
      EXPECT_NEAR(first[id] - first[lead], entry[1].get<double>() - top10[0][1].get<double>(), 1e-3)
          << c.at("prompt") << " id " << id;
    }
  }
}

TEST_F(EngineLogprobs, PenalisedGreedyStepsPickTheArgmaxOfTheFormula) {
  const auto prompt = golden().at("kjv-llama")[0].at("prompt_ids").get<std::vector<int32_t>>();
  SamplingParams p = greedy(24);
  p.presence_penalty = 0.8f;
  p.frequency_penalty = 1.1f;
  p.logprobs = true;
  const RequestResult r = run_alone(prompt, p);
  ASSERT_EQ(r.error, "");
  const RequestResult plain = run_alone(prompt, greedy(24));
  EXPECT_NE(r.ids, plain.ids) << "the penalties should change a 24-token greedy run";
  const auto rows = forward_rows(prompt, r.ids);
  int checked = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    std::map<int32_t, int> count;
    for (size_t j = 0; j < i; ++j) ++count[r.ids[j]];
    std::vector<double> x(rows[i].begin(), rows[i].end());
    for (const auto& [id, n] : count) x[id] -= 0.8 + 1.1 * n;
    std::vector<double> sorted = x;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    if (sorted[0] - sorted[1] < 0.01) continue;  // too close to call across two forwards
    EXPECT_EQ(x[r.ids[i]], sorted[0]) << "step " << i;
    // The logprob is the raw model's, not the penalised row's.
    EXPECT_NEAR(r.logprobs[i].chosen.logprob, log_softmax(rows[i])[r.ids[i]], 1e-3) << "step " << i;
    ++checked;
  }
  EXPECT_GT(checked, 12);
}

TEST_F(EngineLogprobs, PenaltyAndPlainRequestsInOneBatchKeepTheirIds) {
  const auto& gold = golden().at("kjv-llama");
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& c : gold) prompts.push_back(c.at("prompt_ids").get<std::vector<int32_t>>());
  std::vector<SamplingParams> params;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplingParams p = greedy(10);
    if (i % 2 == 0) p.frequency_penalty = 1.5f, p.presence_penalty = 0.5f;
    if (i % 3 == 0) p.logprobs = true, p.top_logprobs = 3;
    if (i == 1) p.temperature = 0.7f, p.top_k = 30, p.seed = 5;
    params.push_back(p);
  }
  std::vector<RequestResult> alone;
  for (size_t i = 0; i < prompts.size(); ++i) alone.push_back(run_alone(prompts[i], params[i]));
  Engine engine(*model_->model, *tokenizer_, checked_engine_options(128, kBlockLen));
  std::vector<RequestHandle> handles;
  for (size_t i = 0; i < prompts.size(); ++i) handles.push_back(engine.submit({prompts[i], params[i], {}, {}}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const RequestResult r = handles[i].wait();
    EXPECT_EQ(r.ids, alone[i].ids) << "prompt " << i;
    ASSERT_EQ(r.logprobs.size(), params[i].logprobs ? r.ids.size() : 0u) << "prompt " << i;
    // The same ids; the logprobs agree to fp32 rounding (a step of 8 or more tokens takes another GEMM
    // kernel on the CPU than a smaller one, so batching may move the last bits).
    for (size_t s = 0; s < r.logprobs.size(); ++s)
      EXPECT_NEAR(r.logprobs[s].chosen.logprob, alone[i].logprobs[s].chosen.logprob, 1e-4) << "prompt " << i;
  }
  expect_engine_clean(engine);
}

}  // namespace
}  // namespace turbine::test
