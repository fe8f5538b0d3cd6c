// GuidedMaskWorkers on kjv-llama's vocabulary: the samplers' masks are found on the worker threads
// (sampling afterwards walks nothing), a preparation's exception comes back from wait() and leaves
// the workers usable, and no thread starts before the first batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "engine/guided_mask_workers.h"
#include "guided/json_schema.h"
#include "unit/kjv_vocabulary_suite.h"

namespace turbine {
namespace {

constexpr const char* kSchema = R"({"type": "object", "properties": {"a": {"type": "string"}}})";

class GuidedMaskWorkersTest : public KjvVocabularySuite {
 protected:
  static SamplingParams guided_params(std::shared_ptr<const JsonGrammar> grammar) {
    SamplingParams p;
    p.guided = std::move(grammar);
    p.stop_ids = {*tokenizer_->eos_id};
    return p;
  }
  // `count` guided samplers of `cache`'s grammar, at its start.
  static std::vector<std::unique_ptr<Sampler>> fresh_samplers(const std::shared_ptr<GuidedMaskCache>& cache,
                                                              int count) {
    std::vector<std::unique_ptr<Sampler>> samplers;
    for (int k = 0; k < count; ++k)
      samplers.push_back(std::make_unique<Sampler>(guided_params(cache->grammar()), cache));
    return samplers;
  }
  static std::vector<Sampler*> pointers(const std::vector<std::unique_ptr<Sampler>>& samplers) {
    std::vector<Sampler*> out;
    for (const auto& s : samplers) out.push_back(s.get());
    return out;
  }
};

TEST_F(GuidedMaskWorkersTest, MasksAreFoundOnTheWorkerThreads) {
  // A cache of its own per sampler, so that every sampler walks once.
  constexpr size_t kSamplers = 6;
  std::vector<std::shared_ptr<GuidedMaskCache>> caches;
  std::vector<std::unique_ptr<Sampler>> samplers;
  std::mutex mutex;
  std::set<std::thread::id> walkers;
  size_t walks = 0;
  for (size_t k = 0; k < kSamplers; ++k) {
    caches.push_back(std::make_shared<GuidedMaskCache>(compile_json_schema(kSchema), trie()));
    caches.back()->set_walk_hook([&] {
      std::lock_guard lock(mutex);
      walkers.insert(std::this_thread::get_id());
      ++walks;
    });
    samplers.push_back(std::move(fresh_samplers(caches.back(), 1).front()));
  }
  GuidedMaskWorkers workers(2);
  workers.start(pointers(samplers));
  // Every walk happens on a worker when this thread does not help: wait for them before wait().
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (walks == kSamplers) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the workers walked " << walks;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_FALSE(walkers.count(std::this_thread::get_id()));
  EXPECT_GE(workers.started(), 1);
  // Sampling now walks nothing and looks nothing up: the mask was prepared.
  for (size_t k = 0; k < kSamplers; ++k) {
    const GuidedMaskCache::Stats before = caches[k]->stats();
    EXPECT_EQ(before.walks, 1u) << k;
    std::vector<float> logits(size_t(tokenizer_->vocab_size()), 0.0f);
    samplers[k]->sample(logits, {});
    EXPECT_EQ(caches[k]->stats().walks, before.walks) << k;
    EXPECT_EQ(caches[k]->stats().hits, before.hits) << k;
  }
}

TEST_F(GuidedMaskWorkersTest, AFailedPreparationComesBackFromWait) {
  const auto cache = std::make_shared<GuidedMaskCache>(json_object_grammar(), trie());
  auto samplers = fresh_samplers(cache, 5);
  int failures_left = 1;
  std::mutex mutex;
  cache->set_walk_hook([&] {
    std::lock_guard lock(mutex);
    if (failures_left > 0) {
      --failures_left;
      throw Error("mask failure");
    }
  });
  GuidedMaskWorkers workers(3);
  workers.start(pointers(samplers));
  const std::exception_ptr failed = workers.wait();
  ASSERT_NE(failed, nullptr);
  EXPECT_THROW(std::rethrow_exception(failed), Error);
  // The workers are not stuck: the next batch runs, and the state that failed is walked afresh.
  workers.start(pointers(samplers));
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(cache->stats().walks, 2u);
  for (auto& s : samplers) {
    const GuidedMaskCache::Stats before = cache->stats();
    std::vector<float> logits(size_t(tokenizer_->vocab_size()), 0.0f);
    s->sample(logits, {});
    EXPECT_EQ(cache->stats().walks, before.walks);
  }
}

TEST_F(GuidedMaskWorkersTest, NoThreadUntilTheFirstBatch) {
  GuidedMaskWorkers workers(4);
  EXPECT_EQ(workers.started(), 0);
  workers.start({});
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(workers.started(), 0);
  const auto cache = std::make_shared<GuidedMaskCache>(json_object_grammar(), trie());
  auto samplers = fresh_samplers(cache, 2);
  workers.start(pointers(samplers));
  EXPECT_THROW(workers.start(pointers(samplers)), std::logic_error);  // one batch at a time
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(workers.started(), std::min(4, int(std::max(1u, std::thread::hardware_concurrency()))));
  EXPECT_THROW(GuidedMaskWorkers(0), std::logic_error);
}

}  // namespace
}  // namespace turbine
