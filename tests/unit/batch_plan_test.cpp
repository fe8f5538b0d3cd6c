// plan_batch's checks of a batch against the cache geometry, and the geometry it records.
#include <gtest/gtest.h>

#include <utility>

#include "backend/batch_input.h"
#include "core/error.h"

using namespace turbine;

namespace {

BatchInput one_sequence(int context, int tokens, std::vector<int32_t> table) {
  BatchInput in;
  in.sequences.push_back({.context_len = context, .num_tokens = tokens, .block_table = std::move(table)});
  in.token_ids.assign(size_t(tokens), 7);
  return in;
}

}  // namespace

// Blocks released out of a sliding window: accepted only where no new token's window reaches.
TEST(BatchPlan, ReleasedBlocksOnlyBehindTheWindow) {
  const auto input = one_sequence;
  // block_len 4, window 6: a token at position 13 reads keys 8..13, so blocks 0 and 1 are dead.
  const BatchPlan ok = plan_batch(input(13, 1, {kReleasedBlock, kReleasedBlock, 5, 6}), 4, 8, 6);
  EXPECT_EQ(ok.slot_mapping, std::vector<int32_t>{6 * 4 + 1});
  EXPECT_EQ(ok.block_tables[0], kReleasedBlock);
  // Two new tokens from position 12: the first reads keys 7..12, in block 1.
  EXPECT_THROW(plan_batch(input(12, 2, {kReleasedBlock, kReleasedBlock, 5, 6}), 4, 8, 6), Error);
  // Without a window nothing may be released.
  EXPECT_THROW(plan_batch(input(13, 1, {kReleasedBlock, 4, 5, 6}), 4, 8), Error);
}

// The plan carries the geometry its block tables were checked against, which the backend's ops
// compare with the cache they are given (backend/op_checks.cpp).
TEST(BatchPlan, RecordsTheGeometryItWasCheckedAgainst) {
  const BatchPlan p = plan_batch(one_sequence(13, 1, {kReleasedBlock, kReleasedBlock, 5, 6}), 4, 8, 6);
  EXPECT_EQ(p.block_len, 4);
  EXPECT_EQ(p.num_blocks, 8);
  EXPECT_EQ(p.sliding_window, 6);
  EXPECT_THROW(plan_batch(one_sequence(0, 3, {8}), 4, 8), Error);  // block 8 of 0..7
}
