// The shared mask cache on kjv-llama's vocabulary: prepare() then mask() masks a row exactly as
// mask() alone does, decoders of equal grammars share one cache (the second one's masks are hits),
// and concurrent askers of one state wait for a single walk, whose failure reaches all of them.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <random>
#include <thread>

#include "guided/guided_decoder.h"
#include "guided/guided_mask_caches.h"
#include "guided/json_matcher.h"
#include "guided/json_schema.h"
#include "unit/kjv_vocabulary_suite.h"

namespace turbine {
namespace {

constexpr const char* kSchema = R"({"type": "object", "properties": {
  "answer": {"enum": ["yes", "no"]}, "count": {"type": "integer"}, "sure": {"type": "boolean"},
  "tags": {"type": "array", "items": {"type": "string"}}, "note": {"type": "null"}},
  "required": ["answer", "sure"]})";
// Every prefix of it is a prefix of a value of kSchema (and of any JSON object).
constexpr const char* kText =
    R"({"answer": "yes", "count": -12, "sure": true, "tags": ["law", "grace\n", "peace"], "note": null})";

class GuidedMaskCacheTest : public KjvVocabularySuite {
 protected:
  static int32_t eos() { return *tokenizer_->eos_id; }
  // kText as tokens (their bytes: a leading space, then the text).
  static std::vector<int32_t> text_ids() { return tokenizer_->encode(kText); }
  static std::vector<float> random_logits(std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-5.0f, 5.0f);
    std::vector<float> logits(size_t(tokenizer_->vocab_size()));
    for (float& x : logits) x = u(rng);
    return logits;
  }

  // Waits (at most 20 s, so that a broken cache fails rather than hangs) until a second thread asking
  // for a state being walked has found the walk in flight.
  static bool waiter_found_walk(const GuidedMaskCache& cache) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (cache.stats().hits == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  using Asker = std::future<std::shared_ptr<const GuidedMaskCache::Bits>>;
  // Two threads ask `cache` for its grammar's start state: the first walks it, held inside the walk
  // until the second has found that walk in flight (then the walk goes on, or throws if `fail`).
  // Returns (walker, waiter); checks that the waiter found the walk.
  static std::pair<Asker, Asker> two_askers_of_one_walk(const std::shared_ptr<GuidedMaskCache>& cache, bool fail) {
    auto entered = std::make_shared<std::promise<void>>();
    auto go = std::make_shared<std::promise<void>>();
    cache->set_walk_hook(
        [entered, fail, held = go->get_future().share(), once = std::make_shared<std::atomic<bool>>(false)] {
          if (once->exchange(true)) return;
          entered->set_value();
          held.wait();
          if (fail) throw Error("walk failed");
        });
    const MatcherState start = JsonMatcher(*cache->grammar()).start();
    Asker walker = std::async(std::launch::async, [cache, start] { return cache->allowed(start); });
    entered->get_future().wait();
    Asker waiter = std::async(std::launch::async, [cache, start] { return cache->allowed(start); });
    const bool found = waiter_found_walk(*cache);
    go->set_value();
    EXPECT_TRUE(found) << "the second asker did not find the walk in flight";
    return {std::move(walker), std::move(waiter)};
  }
};

// Along kText, a decoder that prepares each state before masking and one that only masks (with a
// cache of its own) mask the same random rows identically, and the prepared one's mask() walks and
// looks up nothing: the set was found by prepare().
TEST_F(GuidedMaskCacheTest, PrepareThenMaskEqualsMaskAlone) {
  for (const auto& grammar : {compile_json_schema(kSchema), json_object_grammar()}) {
    GuidedDecoder prepared(grammar, trie(), {eos()});
    GuidedDecoder alone(grammar, trie(), {eos()});
    std::mt19937 rng(7);
    const std::vector<int32_t> ids = text_ids();
    ASSERT_GT(ids.size(), 20u);
    for (size_t step = 0; step <= ids.size(); ++step) {
      std::vector<float> a = random_logits(rng);
      std::vector<float> b = a;
      prepared.prepare();
      const GuidedMaskCache::Stats before = prepared.masks().stats();
      prepared.mask(a);
      const GuidedMaskCache::Stats after = prepared.masks().stats();
      EXPECT_EQ(after.walks, before.walks) << "step " << step;
      EXPECT_EQ(after.hits, before.hits) << "step " << step;
      alone.mask(b);
      ASSERT_EQ(a, b) << "step " << step;
      if (step == ids.size()) {
        EXPECT_TRUE(prepared.complete());
        EXPECT_EQ(a[size_t(eos())], b[size_t(eos())]);  // the stop id is all that is left
        break;
      }
      ASSERT_FALSE(std::isinf(a[size_t(ids[step])])) << "step " << step << ": the text's token is masked";
      prepared.accept(ids[step]);
      alone.accept(ids[step]);
    }
    EXPECT_GT(prepared.masks().stats().walks, 5u);  // many states along the way
  }
}

// Inside a string under a maxLength, the count of code points is part of the state, but a set is the
// same wherever the longest token cannot reach the bound: those states share one walk, and every set,
// near the bound too, is the one token-by-token matching gives.
TEST_F(GuidedMaskCacheTest, AStringFarFromItsMaxLengthIsOneEntry) {
  constexpr int kMax = 200;
  const auto grammar = compile_json_schema(R"({"type": "string", "maxLength": 200})");
  GuidedMaskCache cache(grammar, trie());
  const JsonMatcher matcher(*grammar);
  const int far = kMax - int(trie()->max_depth());  // counts up to here reach no closer than the bound
  ASSERT_GT(far, 10);
  auto state_after = [&](int letters) {
    MatcherState s = matcher.start();
    EXPECT_TRUE(matcher.advance(s, "\"" + std::string(size_t(letters), 'a')));
    return s;
  };
  auto expect_exact = [&](int letters) {
    const MatcherState s = state_after(letters);
    const auto bits = cache.allowed(s);
    size_t allowed = 0, differ = 0;
    for (int32_t id = 0; id < trie()->vocab_size(); ++id) {
      MatcherState t = s;
      const bool want = !trie()->bytes(id).empty() && matcher.advance(t, trie()->bytes(id));
      const bool got = ((*bits)[size_t(id) / 64] >> (id % 64)) & 1;
      allowed += want;
      differ += want != got;
    }
    EXPECT_EQ(differ, 0u) << letters << " letters";
    return allowed;
  };
  const size_t far_set = expect_exact(0);
  for (const int letters : {1, 5, far / 2, far}) EXPECT_EQ(expect_exact(letters), far_set) << letters;
  EXPECT_EQ(cache.stats().walks, 1u);
  EXPECT_LE(expect_exact(far + 1), far_set);  // the longest tokens may close the string before the bound
  for (const int letters : {kMax - 3, kMax - 1, kMax}) EXPECT_LT(expect_exact(letters), far_set) << letters;
  EXPECT_EQ(cache.stats().walks, 5u);  // each count near the bound is its own state
}

// Two equal grammars (compiled twice, as two requests with one schema are) get one cache from the
// table; the second decoder's mask of every state the first one met is a hit, and the same row.
TEST_F(GuidedMaskCacheTest, EqualGrammarsShareOneCache) {
  GuidedMaskCaches caches(trie());
  const auto first_grammar = compile_json_schema(kSchema);
  const auto second_grammar = compile_json_schema(kSchema);
  ASSERT_NE(first_grammar, second_grammar);
  const auto cache = caches.get(first_grammar);
  ASSERT_EQ(caches.get(second_grammar), cache);
  EXPECT_NE(caches.get(json_object_grammar()), cache);
  GuidedDecoder first(cache, {eos()});
  GuidedDecoder second(caches.get(second_grammar), {eos()});
  const std::vector<int32_t> ids = text_ids();
  std::mt19937 rng(3);
  std::vector<std::vector<float>> rows;
  for (int32_t id : ids) {
    rows.push_back(random_logits(rng));
    first.mask(rows.back());
    first.accept(id);
  }
  const GuidedMaskCache::Stats walked = cache->stats();
  ASSERT_GT(walked.walks, 5u);
  rng.seed(3);
  for (size_t step = 0; step < ids.size(); ++step) {
    std::vector<float> row = random_logits(rng);
    const GuidedMaskCache::Stats before = cache->stats();
    second.mask(row);
    const GuidedMaskCache::Stats after = cache->stats();
    EXPECT_EQ(after.walks, before.walks) << "step " << step;
    EXPECT_EQ(after.hits, before.hits + 1) << "step " << step;
    ASSERT_EQ(row, rows[step]) << "step " << step;
    second.accept(ids[step]);
  }
  EXPECT_EQ(cache->stats().walks, walked.walks);
}

// The table keeps the last few caches asked for alive after their decoders end, and no more.
TEST_F(GuidedMaskCacheTest, RecentCachesOutliveTheirDecoders) {
  GuidedMaskCaches caches(trie());
  std::weak_ptr<GuidedMaskCache> first;
  {
    const auto cache = caches.get(compile_json_schema(kSchema));
    GuidedDecoder d(cache, {eos()});
    d.prepare();
    first = cache;
  }
  // No decoder holds it now; a request of the same schema still finds it, with its mask.
  auto again = caches.get(compile_json_schema(kSchema));
  EXPECT_EQ(again, first.lock());
  EXPECT_EQ(again->stats().entries, 1u);
  again.reset();
  for (size_t i = 0; i < GuidedMaskCaches::kKeptRecent; ++i) {
    auto other = std::make_shared<JsonGrammar>();
    other->set_root(int32_t(i));  // the fixed nodes only: unequal to the schema's and to each other
    caches.get(other);
  }
  EXPECT_TRUE(first.expired());
  EXPECT_EQ(caches.live(), GuidedMaskCaches::kKeptRecent);
}

// Two threads ask for one new state: the second waits for the first one's walk (a hit, one walk).
TEST_F(GuidedMaskCacheTest, ConcurrentAskersShareOneWalk) {
  const auto cache = std::make_shared<GuidedMaskCache>(json_object_grammar(), trie());
  auto [walker, waiter] = two_askers_of_one_walk(cache, false);
  const auto a = walker.get(), b = waiter.get();
  EXPECT_EQ(a, b);
  EXPECT_EQ(cache->stats().walks, 1u);
  EXPECT_EQ(cache->stats().hits, 1u);
}

// A walk that throws fails the thread waiting on it too; the state is walked afresh next time.
TEST_F(GuidedMaskCacheTest, AFailedWalkFailsItsWaitersAndIsWalkedAgain) {
  const auto cache = std::make_shared<GuidedMaskCache>(json_object_grammar(), trie());
  auto [walker, waiter] = two_askers_of_one_walk(cache, true);
  EXPECT_THROW(walker.get(), Error);
  EXPECT_THROW(waiter.get(), Error);
  EXPECT_EQ(cache->stats().entries, 0u);
  GuidedDecoder d(cache, {eos()});
  const std::vector<bool> allowed = d.allowed_ids();  // walked again, successfully
  EXPECT_EQ(cache->stats().walks, 2u);
  EXPECT_TRUE(allowed[size_t(*tokenizer_->token_to_id("{"))]);
}

}  // namespace
}  // namespace turbine
