// Shared by the engine end-to-end tests: engine options with the block invariants checked after
// every step, a prompt with BOS, and the after-test check that no KV block is left held.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "engine/engine.h"
#include "text/tokenizer.h"

namespace turbine::test {

inline EngineOptions checked_engine_options(int num_blocks, int block_len) {
  EngineOptions o;
  o.num_blocks = num_blocks;
  o.cache_block_seq_len = block_len;
  o.check_invariants = true;
  return o;
}

// BOS (id 1) followed by the text's ids.
inline std::vector<int32_t> encode_with_bos(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int32_t> ids{1};
  const auto body = tokenizer.encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

// After a test: nothing queued, nothing held but sessions (none by then), invariants fine.
inline void expect_engine_clean(Engine& engine) {
  engine.wait_idle();
  EXPECT_NO_THROW(engine.check_invariants());
  const BlockUsage u = engine.block_usage();
  EXPECT_EQ(u.active, 0) << "leaked KV blocks";
  EXPECT_EQ(u.free + u.cached, engine.num_blocks());
}

// The engine suites' base: kjv-llama on the CPU and its tokenizer, loaded once per suite, and
// what several suites ask of them.
class KjvEngineSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = load_cpu_model(default_model_dir()).release();
    tokenizer_ = load_tokenizer(default_model_dir()).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
    model_ = nullptr;
    tokenizer_ = nullptr;
  }
  // Greedy until EOS (id 2) or max_new tokens.
  static SamplingParams greedy(int max_new) {
    SamplingParams p;
    p.max_new_tokens = max_new;
    p.stop_ids = {2};
    return p;
  }
  // A guided request (SamplingParams::guided): greedy, or sampled at `temperature` from `seed`.
  static SamplingParams guided(std::shared_ptr<const JsonGrammar> grammar, int max_new, float temperature = 0.0f,
                               uint64_t seed = 0) {
    SamplingParams p = greedy(max_new);
    p.guided = std::move(grammar);
    p.temperature = temperature;
    p.seed = seed;
    return p;
  }
  static std::vector<int32_t> prompt(const std::string& text) { return encode_with_bos(*tokenizer_, text); }
  // The unguided neighbours the guided suites batch beside guided requests: 24 tokens greedy, and
  // 24 sampled (temperature 0.8, top-k 40, seed 5), both past EOS.
  static SamplingParams plain_neighbour() {
    SamplingParams p = greedy(24);
    p.ignore_eos = true;
    return p;
  }
  static SamplingParams sampled_neighbour() {
    SamplingParams p = plain_neighbour();
    p.temperature = 0.8f;
    p.top_k = 40;
    p.seed = 5;
    return p;
  }
  // The request on an engine of its own (the reference a batched run must equal).
  static RequestResult run_alone(const std::vector<int32_t>& ids, const SamplingParams& p, int block_len = 16) {
    Engine engine(*model_->model, *tokenizer_, checked_engine_options(64, block_len));
    RequestResult r = engine.submit({ids, p, {}, {}}).wait();
    expect_engine_clean(engine);
    return r;
  }

  inline static LoadedModel* model_ = nullptr;
  inline static Tokenizer* tokenizer_ = nullptr;
};

}  // namespace turbine::test
