// The CUDA backend's attention work lists (plan_attention_work, derived from a BatchPlan when the
// batch is uploaded): which sequences decode, and the prefill tiles (sequence, first new token)
// that cover every new token of the others exactly once, longest first. Plain C++, tested here.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "backend/batch_input.h"
#include "backend/cuda/attention/attention_work.h"

using namespace turbine;
using turbine::cuda::AttentionWork;
using turbine::cuda::kPrefillTileTokens;
using turbine::cuda::plan_attention_work;

namespace {

// Sequences with the given (context, new tokens), each with enough blocks of `block_len` tokens.
BatchInput batch_of(const std::vector<std::pair<int, int>>& seqs, int block_len) {
  BatchInput in;
  int32_t next_block = 0;
  for (const auto& [context, tokens] : seqs) {
    SequenceInput s;
    s.context_len = context;
    s.num_tokens = tokens;
    for (int b = 0; b < (context + tokens + block_len - 1) / block_len; ++b) s.block_table.push_back(next_block++);
    in.sequences.push_back(s);
    in.token_ids.insert(in.token_ids.end(), tokens, 7);
  }
  return in;
}

}  // namespace

TEST(AttentionWork, MixedBatchSplitsDecodesFromPrefillTiles) {
  const int T = kPrefillTileTokens;
  // seq 0: prefill of 2T + 2 new tokens (3 tiles); 1: decode; 2: a chunk of T after 500 (1 tile);
  // 3: decode; 4: two new tokens (a prefill, not a decode).
  const BatchInput in = batch_of({{0, 2 * T + 2}, {40, 1}, {500, T}, {7, 1}, {3, 2}}, 16);
  const AttentionWork p = plan_attention_work(plan_batch(in, 16, 1000));
  EXPECT_EQ(p.decode_seqs, (std::vector<int32_t>{1, 3}));
  ASSERT_EQ(p.num_prefill_tiles(), 5);
  ASSERT_EQ(p.prefill_tiles.size(), 10u);
  // By the last key position a tile visits: seq 2 (499 + T), seq 0's tiles 2 (2T + 1), 1 (2T - 1)
  // and 0 (T - 1), seq 4 (4).
  const std::vector<int32_t> want = {2, 0, 0, 2 * T, 0, T, 0, 0, 4, 0};
  EXPECT_EQ(p.prefill_tiles, want);
}

TEST(AttentionWork, PureDecodeHasNoTilesAndPurePrefillNoDecodes) {
  const AttentionWork d = plan_attention_work(plan_batch(batch_of({{10, 1}, {0, 1}, {99, 1}}, 64), 64, 100));
  EXPECT_EQ(d.decode_seqs, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_TRUE(d.prefill_tiles.empty());
  const AttentionWork f = plan_attention_work(plan_batch(batch_of({{0, kPrefillTileTokens}}, 64), 64, 100));
  EXPECT_TRUE(f.decode_seqs.empty());
  EXPECT_EQ(f.prefill_tiles, (std::vector<int32_t>{0, 0}));
}

TEST(AttentionWork, TilesCoverEveryPrefillTokenOnce) {
  const std::vector<std::pair<int, int>> seqs = {{0, 1000}, {500, 77}, {0, 63}, {12, 1}, {0, 65}, {3, 300}};
  const AttentionWork p = plan_attention_work(plan_batch(batch_of(seqs, 24), 24, 1000));
  std::map<int, std::set<int>> covered;
  int last_key = 1 << 30;
  for (int i = 0; i < p.num_prefill_tiles(); ++i) {
    const int seq = p.prefill_tiles[2 * i], first = p.prefill_tiles[2 * i + 1];
    ASSERT_GE(seq, 0);
    ASSERT_LT(seq, int(seqs.size()));
    const int tokens = seqs[seq].second;
    ASSERT_GT(tokens, 1);
    ASSERT_EQ(first % kPrefillTileTokens, 0);
    ASSERT_LT(first, tokens);
    const int end = std::min(first + kPrefillTileTokens, tokens);
    const int key = seqs[seq].first + end - 1;
    EXPECT_LE(key, last_key) << "tile " << i << " is longer than the one before it";
    last_key = key;
    for (int t = first; t < end; ++t) EXPECT_TRUE(covered[seq].insert(t).second) << seq << ":" << t;
  }
  for (size_t s = 0; s < seqs.size(); ++s)
    EXPECT_EQ(covered[int(s)].size(), seqs[s].second > 1 ? size_t(seqs[s].second) : 0u) << "sequence " << s;
  EXPECT_EQ(p.decode_seqs, (std::vector<int32_t>{3}));
}
