// What a quantized KV cache buys: more blocks from one memory setting. The Llama-2-7B geometry's block
// counts for each format, and the engine on kjv-llama admitting as many concurrent sequences as the
// quantized cache has blocks, where the Dense cache of the same size cannot.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "e2e/engine_test_util.h"
#include "engine/model_runner.h"

namespace turbine::test {
namespace {

// Llama-2-7B (32 layers, 32 kv heads of 128 dims) in fp16 with 64-token blocks: the blocks that fit
// the 0.8 of ~60 GiB an 80 GB GPU has left beside the weights.
TEST(KvQuantBlocks, Llama2_7bBlockCounts) {
  KvCacheSpec spec{32, 1, 64, 32, 128, DType::F16};
  const size_t budget = size_t(0.8 * 60.0 * double(size_t(1) << 30));
  auto blocks = [&](KvFormat f) {
    spec.format = f;
    return budget / spec.bytes();
  };
  const size_t dense = blocks(KvFormat::Dense);
  EXPECT_EQ(dense, budget / (size_t(32) * 2 * 32 * 64 * 128 * 2));  // 32 MiB a block: 1536
  EXPECT_GE(double(blocks(KvFormat::Int8)), 1.9 * double(dense));
  EXPECT_GE(double(blocks(KvFormat::Int4)), 3.6 * double(dense));
  EXPECT_GE(double(blocks(KvFormat::Fp8)), 1.9 * double(dense));
}

class KvQuantEngine : public KjvEngineSuite {
 protected:
  // An engine whose cache may take `budget` bytes in `format`; runs `count` requests of 4 prompt tokens
  // and 8 new ones (one 16-token block each) submitted while the engine is held between two steps, so
  // the scheduler sees them all at once. Returns the engine's counters.
  static EngineCounters run_all_at_once(KvFormat format, size_t budget, int count, int* num_blocks) {
    EngineOptions o;
    o.cache_block_seq_len = 16;
    o.cache_max_entry_count.bytes = budget;
    o.kv_format = format;
    o.check_invariants = true;
    Engine engine(*model_->model, *tokenizer_, o);
    *num_blocks = engine.num_blocks();
    std::promise<void> held, release;
    std::shared_future<void> go = release.get_future().share();
    std::thread holder([&] { engine.run_between_steps([&] { held.set_value(), go.wait(); }); });
    held.get_future().wait();
    std::vector<RequestHandle> handles;
    SamplingParams p = greedy(8);
    p.stop_ids.clear();  // exactly 8 tokens each
    for (int i = 0; i < count; ++i) handles.push_back(engine.submit({{1, 5 + i, 9, 11}, p, {}, {}}));
    release.set_value();
    holder.join();
    for (auto& h : handles) EXPECT_EQ(h.wait().ids.size(), 8u);
    expect_engine_clean(engine);
    return engine.counters();
  }
};

TEST_F(KvQuantEngine, AdmitsAsManySequencesAsTheQuantizedCacheHasBlocks) {
  const size_t dense_block = ModelRunner::block_bytes(*model_->model, 16, KvFormat::Dense);
  const size_t budget = 4 * dense_block;
  for (KvFormat f : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    SCOPED_TRACE(std::string(kv_format_name(f)));
    const size_t block = ModelRunner::block_bytes(*model_->model, 16, f);
    const int expected = int(budget / block);
    EXPECT_GE(expected, f == KvFormat::Int4 ? 14 : 7);  // fp32 on the cpu: ~7x / ~3.8x the dense count
    int blocks = 0;
    const EngineCounters c = run_all_at_once(f, budget, expected, &blocks);
    EXPECT_EQ(blocks, expected);
    EXPECT_EQ(c.preemptions, 0u);
    EXPECT_EQ(c.steps, 8u) << "all " << expected << " sequences in every step";
  }
  // The dense cache of that size holds 4 of them at a time: the same load takes more steps.
  int blocks = 0;
  const EngineCounters c = run_all_at_once(KvFormat::Dense, budget, 8, &blocks);
  EXPECT_EQ(blocks, 4);
  EXPECT_GT(c.steps, 8u);
}

}  // namespace
}  // namespace turbine::test
