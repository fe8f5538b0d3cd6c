// Padding of decode steps for recorded graphs: bucket choice, which steps qualify, and the padded
// plan (padding rows write no KV, tables at the bucket's width, max_context at its capacity).
#include "engine/decode_graph_batch.h"

#include <gtest/gtest.h>

namespace turbine {
namespace {

BatchInput decodes(int n, int blocks_each) {
  BatchInput in;
  for (int s = 0; s < n; ++s) {
    SequenceInput seq;
    seq.context_len = blocks_each * 4 - 1;
    seq.num_tokens = 1;
    for (int b = 0; b < blocks_each; ++b) seq.block_table.push_back(s * blocks_each + b);
    in.sequences.push_back(seq);
    in.token_ids.push_back(10 + s);
  }
  return in;
}

TEST(DecodeGraphBatch, BucketsAndWidths) {
  struct Case {
    int n, blocks, bucket, width;
  };
  for (const Case c : {Case{1, 1, 1, 1}, Case{3, 3, 4, 4}, Case{5, 2, 8, 2}, Case{9, 5, 16, 8}, Case{64, 8, 64, 8},
                       Case{65, 1, 96, 1}, Case{200, 17, 224, 32}, Case{256, 2, 256, 2}}) {
    const auto key = decode_graph_key(decodes(c.n, c.blocks));
    ASSERT_TRUE(key.has_value()) << c.n;
    EXPECT_EQ(key->sequences, c.bucket) << c.n;
    EXPECT_EQ(key->table_width, c.width) << c.n;
  }
  EXPECT_FALSE(decode_graph_key(decodes(kMaxGraphBatch + 1, 1)).has_value());
  EXPECT_FALSE(decode_graph_key(BatchInput{}).has_value());
}

TEST(DecodeGraphBatch, OnlyPlainDecodeSteps) {
  BatchInput prefill = decodes(3, 2);
  prefill.sequences[1].num_tokens = 2;
  prefill.token_ids.push_back(5);
  EXPECT_FALSE(decode_graph_key(prefill).has_value());
  BatchInput scoring = decodes(2, 2);
  scoring.sequences[0].all_logits = true;
  EXPECT_FALSE(decode_graph_key(scoring).has_value());
  BatchInput silent = decodes(2, 2);
  silent.sequences[1].logits = false;
  EXPECT_FALSE(decode_graph_key(silent).has_value());
}

TEST(DecodeGraphBatch, PaddedPlan) {
  const int block_len = 4, num_blocks = 64;
  const BatchInput in = decodes(5, 3);  // 5 sequences at position 11 of 3-block tables
  const auto key = decode_graph_key(in);
  ASSERT_TRUE(key.has_value());
  const BatchPlan p = plan_decode_graph_batch(in, *key, block_len, num_blocks);
  const BatchPlan real = plan_batch(in, block_len, num_blocks);
  EXPECT_EQ(p.num_sequences, 8);
  EXPECT_EQ(p.num_tokens, 8);
  EXPECT_EQ(p.max_blocks, 4);
  EXPECT_EQ(p.max_context, 16);
  EXPECT_EQ(p.max_new_tokens, 1);
  ASSERT_EQ(p.slot_mapping.size(), 8u);
  for (int s = 0; s < 5; ++s) {
    EXPECT_EQ(p.slot_mapping[s], real.slot_mapping[s]);
    EXPECT_EQ(p.token_ids[s], in.token_ids[s]);
    EXPECT_EQ(p.context_lens[s], 12);
    for (int b = 0; b < 3; ++b) EXPECT_EQ(p.block_tables[s * 4 + b], in.sequences[s].block_table[b]);
  }
  for (int s = 5; s < 8; ++s) {
    EXPECT_EQ(p.slot_mapping[s], -1) << "padding rows write no KV";
    EXPECT_EQ(p.context_lens[s], 1);
  }
  EXPECT_EQ(p.logit_rows.size(), 8u);
  EXPECT_EQ(p.query_start.back(), 8);
}

}  // namespace
}  // namespace turbine
