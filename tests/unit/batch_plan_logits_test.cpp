// plan_batch's logit rows: the last token of each sequence that wants logits, every token where
// all_logits is set, none where logits is off.
#include <gtest/gtest.h>

#include "backend/batch_input.h"

using namespace turbine;

TEST(BatchPlan, LogitRowsFollowTheFlags) {
  BatchInput in;
  auto add = [&](int ctx, int n, bool logits, bool all) {
    SequenceInput s;
    s.context_len = ctx;
    s.num_tokens = n;
    s.block_table = {0, 1, 2, 3};
    s.logits = logits;
    s.all_logits = all;
    in.sequences.push_back(s);
    for (int i = 0; i < n; ++i) in.token_ids.push_back(i);
  };
  add(0, 4, false, false);  // a prefill chunk short of the prompt's end: rows 0..3, no logits
  add(5, 1, true, false);   // a decode: row 4
  add(0, 3, true, true);    // teacher forcing: rows 5..7
  add(2, 2, true, false);   // a final prefill chunk: rows 8..9, the last
  add(0, 1, false, false);  // row 10, no logits
  const BatchPlan p = plan_batch(in, 4, 8);
  EXPECT_EQ(p.num_tokens, 11);
  EXPECT_EQ(p.logit_rows, (std::vector<int32_t>{4, 5, 6, 7, 9}));
  EXPECT_EQ(p.logit_row_start, (std::vector<int32_t>{0, 0, 1, 4, 5, 5}));

  BatchInput none;
  none.token_ids = {1, 2};
  none.sequences.push_back({.context_len = 0, .num_tokens = 2, .block_table = {0}, .logits = false});
  EXPECT_TRUE(plan_batch(none, 4, 8).logit_rows.empty());
}
