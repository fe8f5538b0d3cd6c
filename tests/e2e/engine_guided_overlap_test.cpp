// Guided masks found on worker threads during the forward pass (--sampling-threads) on kjv-llama (CPU):
// a batch of guided requests (n choices of one request among them) and unguided neighbours gives the
// same tokens with the overlap on and off, the choices share their masks, and a mask that fails on a
// worker fails its step exactly as it does on the step thread, leaving no KV block held and the
// engine able to go on and to shut down.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/engine_test_util.h"
#include "engine/engine.h"
#include "guided/json_schema.h"

namespace turbine::test {
namespace {

constexpr const char* kSchema = R"({"type": "object", "properties": {
  "answer": {"enum": ["yes", "no", "maybe"]}, "count": {"type": "integer"}, "who": {"type": "string"},
  "tags": {"type": "array", "items": {"enum": ["law", "grace", "peace"]}, "maxItems": 2}},
  "required": ["answer", "who"]})";

// Holds the engine's loop between two steps until release(), so that the requests submitted
// meanwhile are scheduled together, whatever the timing; remembers the loop's thread.
class LoopHold {
 public:
  explicit LoopHold(Engine& engine) {
    holder_ = std::thread([this, &engine, go = release_.get_future().share()] {
      engine.run_between_steps([&] {
        loop_thread_ = std::this_thread::get_id();
        held_.set_value();
        go.wait();
      });
    });
    held_.get_future().wait();
  }
  ~LoopHold() { release(); }
  void release() {
    if (!holder_.joinable()) return;
    release_.set_value();
    holder_.join();
  }
  std::thread::id loop_thread() const { return loop_thread_; }

 private:
  std::promise<void> held_, release_;
  std::thread holder_;
  std::thread::id loop_thread_;
};

class GuidedOverlap : public KjvEngineSuite {
 protected:
  static EngineOptions options(int sampling_threads) {
    EngineOptions o = checked_engine_options(96, 16);
    o.sampling_threads = sampling_threads;
    return o;
  }

  struct Batch {
    std::vector<RequestResult> results;
    EngineCounters counters;
    GuidedMaskCache::Stats schema_masks;
  };
  // Guided requests (greedy and sampled, a schema and json_object, three choices of one request)
  // with unguided neighbours, all in one engine, submitted at once.
  static Batch run_batch(int sampling_threads) {
    Engine engine(*model_->model, *tokenizer_, options(sampling_threads));
    const auto schema = compile_json_schema(kSchema);
    const SamplingParams plain = plain_neighbour(), sampled = sampled_neighbour();
    std::vector<Request> requests;
    requests.push_back({prompt("In the beginning"), guided(schema, 120), {}, {}});
    requests.push_back({prompt("And the earth was without form"), plain, {}, {}});
    requests.push_back({prompt("Blessed are the meek"), guided(json_object_grammar(), 120, 0.7f, 9), {}, {}});
    requests.push_back({prompt("The LORD is my shepherd"), sampled, {}, {}});
    // n = 3: the choices of one request share its params (one grammar object), seeds apart.
    const SamplingParams choice = guided(schema, 120, 0.9f, 0);
    for (uint64_t seed : {11, 12, 13}) {
      requests.push_back({prompt("Who shall ascend into the hill of the LORD?"), choice, {}, {}});
      requests.back().params.seed = seed;
    }
    std::vector<RequestHandle> handles;
    {
      LoopHold hold(engine);
      for (Request& r : requests) handles.push_back(engine.submit(std::move(r)));
    }
    Batch batch;
    for (RequestHandle& h : handles) batch.results.push_back(h.wait());
    expect_engine_clean(engine);
    batch.counters = engine.counters();
    batch.schema_masks = engine.guided_masks(schema)->stats();
    return batch;
  }
};

TEST_F(GuidedOverlap, SameTokensWithTheOverlapOnAndOff) {
  const Batch serial = run_batch(0);
  const Batch overlapped = run_batch(3);
  ASSERT_EQ(serial.results.size(), overlapped.results.size());
  for (size_t i = 0; i < serial.results.size(); ++i) {
    const RequestResult &s = serial.results[i], &o = overlapped.results[i];
    EXPECT_EQ(s.error, "") << i;
    EXPECT_EQ(o.error, "") << i;
    EXPECT_EQ(o.ids, s.ids) << "request " << i;
    EXPECT_EQ(o.text, s.text) << "request " << i;
    EXPECT_EQ(o.reason, s.reason) << "request " << i;
  }
  // The guided outputs follow their grammar: a complete object where one stopped (this Bible model
  // mostly goes on inside a string value until max_new_tokens).
  int stopped = 0;
  for (size_t i : {0, 2, 4, 5, 6}) {
    const RequestResult& r = overlapped.results[i];
    if (r.reason == FinishReason::Stop) {
      ++stopped;
      EXPECT_TRUE(nlohmann::json::parse(r.text).is_object()) << r.text;
    } else {
      EXPECT_EQ(r.ids.size(), 120u) << r.text;
    }
  }
  EXPECT_GE(stopped, 1);
  // The seeds set the choices apart (a batch of three identical outputs would prove little).
  EXPECT_NE(overlapped.results[4].ids, overlapped.results[5].ids);
  // The overlap ran, only where asked for.
  EXPECT_EQ(serial.counters.guided_rows_prepared, 0u);
  EXPECT_GT(overlapped.counters.guided_rows_prepared, 20u);
  // The schema's four sequences share one cache: the choices' first masks, at least, were found there.
  for (const Batch* b : {&serial, &overlapped}) {
    EXPECT_GE(b->schema_masks.hits, 3u);
    EXPECT_GT(b->schema_masks.walks, 0u);
  }
}

TEST_F(GuidedOverlap, AFailedPreparationFailsTheStepAsAFailedMaskDoes) {
  std::vector<std::vector<RequestResult>> outcomes;
  for (int threads : {0, 2}) {
    SCOPED_TRACE(threads);
    Engine engine(*model_->model, *tokenizer_, options(threads));
    const auto grammar = compile_json_schema(kSchema);
    // The cache its requests will use (held here, so it is the one they get); its first walk fails.
    const auto masks = engine.guided_masks(grammar);
    std::atomic<int> failures_left{1};
    std::thread::id failed_on;
    masks->set_walk_hook([&] {
      if (failures_left.fetch_sub(1) == 1) {
        failed_on = std::this_thread::get_id();
        throw Error("mask walk failed");
      }
    });
    const SamplingParams plain = plain_neighbour();
    RequestHandle g, p;
    std::thread::id loop_thread;
    {
      LoopHold hold(engine);
      loop_thread = hold.loop_thread();
      g = engine.submit({prompt("In the beginning"), guided(grammar, 60), {}, {}});
      p = engine.submit({prompt("And the earth was without form"), plain, {}, {}});
    }
    std::vector<RequestResult> results = {g.wait(), p.wait()};
    // The whole step failed, the unguided neighbour with it, with the walk's message.
    for (const RequestResult& r : results) {
      EXPECT_EQ(r.error, "mask walk failed");
      EXPECT_TRUE(r.ids.empty());
    }
    // Where it failed: on a worker when the overlap is on.
    EXPECT_EQ(failed_on == loop_thread, threads == 0);
    expect_engine_clean(engine);
    // The engine (and its workers) go on: the same grammar's next request runs to its end.
    const RequestResult after = engine.submit({prompt("In the beginning"), guided(grammar, 40), {}, {}}).wait();
    EXPECT_EQ(after.error, "");
    EXPECT_EQ(after.ids.size(), 40u) << after.text;
    expect_engine_clean(engine);
    outcomes.push_back(std::move(results));
  }
  for (size_t i = 0; i < outcomes[0].size(); ++i) {
    EXPECT_EQ(outcomes[1][i].error, outcomes[0][i].error);
    EXPECT_EQ(outcomes[1][i].reason, outcomes[0][i].reason);
    EXPECT_EQ(outcomes[1][i].text, outcomes[0][i].text);
  }
}

}  // namespace
}  // namespace turbine::test
