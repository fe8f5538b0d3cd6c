// StepWorkers: every task runs once, on the worker threads when this thread does not help; a task's
// exception comes back from wait() (run() rethrows it) and leaves the workers usable; no thread
// starts before the first batch. On kjv-llama's vocabulary, guided samplers' masks prepared on them
// are not walked again by sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "engine/sampler.h"
#include "engine/step_workers.h"
#include "guided/json_schema.h"
#include "unit/kjv_vocabulary_suite.h"

namespace turbine {
namespace {

constexpr const char* kSchema = R"({"type": "object", "properties": {"a": {"type": "string"}}})";

class StepWorkersTest : public KjvVocabularySuite {
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
  // Begins preparing every sampler's guide on `workers`.
  static void start_preparing(StepWorkers& workers, const std::vector<std::unique_ptr<Sampler>>& samplers) {
    workers.start(samplers.size(), [&samplers](size_t i) { samplers[i]->prepare_guide(); });
  }
};

TEST_F(StepWorkersTest, MasksAreFoundOnTheWorkerThreads) {
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
  StepWorkers workers(2);
  start_preparing(workers, samplers);
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

TEST_F(StepWorkersTest, AFailedPreparationComesBackFromWait) {
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
  StepWorkers workers(3);
  start_preparing(workers, samplers);
  const std::exception_ptr failed = workers.wait();
  ASSERT_NE(failed, nullptr);
  EXPECT_THROW(std::rethrow_exception(failed), Error);
  // The workers are not stuck: the next batch runs, and the state that failed is walked afresh.
  start_preparing(workers, samplers);
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(cache->stats().walks, 2u);
  for (auto& s : samplers) {
    const GuidedMaskCache::Stats before = cache->stats();
    std::vector<float> logits(size_t(tokenizer_->vocab_size()), 0.0f);
    s->sample(logits, {});
    EXPECT_EQ(cache->stats().walks, before.walks);
  }
}

TEST_F(StepWorkersTest, NoThreadUntilTheFirstBatch) {
  StepWorkers workers(4);
  EXPECT_EQ(workers.started(), 0);
  workers.start(0, [](size_t) { FAIL() << "no task to run"; });
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(workers.started(), 0);
  const auto cache = std::make_shared<GuidedMaskCache>(json_object_grammar(), trie());
  auto samplers = fresh_samplers(cache, 2);
  start_preparing(workers, samplers);
  EXPECT_THROW(start_preparing(workers, samplers), std::logic_error);  // one batch at a time
  EXPECT_EQ(workers.wait(), nullptr);
  EXPECT_EQ(workers.started(), std::min(4, int(std::max(1u, std::thread::hardware_concurrency()))));
  EXPECT_THROW(StepWorkers(0), std::logic_error);
}

TEST(StepWorkers, EveryTaskRunsOnce) {
  StepWorkers workers(3);
  for (size_t n : {1u, 2u, 7u, 1000u}) {
    std::vector<std::atomic<int>> runs(n);
    workers.run(n, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << "task " << i << " of " << n;
  }
}

TEST(StepWorkers, RunRethrowsAndTheWorkersGoOn) {
  StepWorkers workers(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(workers.run(16,
                           [&](size_t i) {
                             ran.fetch_add(1);
                             if (i == 5) throw Error("task 5 failed");
                           }),
               Error);
  EXPECT_EQ(ran.load(), 16);  // the other tasks still ran: the batch ends whole
  std::atomic<int> second{0};
  workers.run(4, [&](size_t) { second.fetch_add(1); });
  EXPECT_EQ(second.load(), 4);
}

TEST(StepWorkers, ForEachRowRunsInOrderWithoutWorkers) {
  std::vector<size_t> order;
  for_each_row(nullptr, 5, [&](size_t i) { order.push_back(i); });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_THROW(for_each_row(nullptr, 3,
                            [](size_t i) {
                              if (i == 1) throw Error("row 1");
                            }),
               Error);
  StepWorkers workers(2);
  std::vector<std::atomic<int>> runs(9);
  for_each_row(&workers, runs.size(), [&](size_t i) { runs[i].fetch_add(1); });
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_GE(workers.started(), 1);
}

}  // namespace
}  // namespace turbine
