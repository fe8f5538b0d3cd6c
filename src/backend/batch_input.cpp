#include "backend/batch_input.h"

#include <algorithm>

#include "core/error.h"

namespace turbine {

BatchPlan plan_batch(const BatchInput& input, int32_t block_len, int32_t num_blocks, int32_t sliding_window) {
  BatchPlan p;
  p.block_len = block_len;
  p.num_blocks = num_blocks;
  p.sliding_window = sliding_window;
  p.num_sequences = int32_t(input.sequences.size());
  p.token_ids = input.token_ids;
  p.query_start.push_back(0);
  p.logit_row_start.push_back(0);
  for (const auto& s : input.sequences) {
    if (s.num_tokens <= 0) fail("batch: a sequence has no new tokens");
    if (s.context_len < 0) fail("batch: negative context length");
    const int32_t total = s.context_len + s.num_tokens;
    const int32_t needed = (total + block_len - 1) / block_len;
    if (int32_t(s.block_table.size()) < needed)
      fail("batch: block table covers {} blocks, {} tokens need {}", s.block_table.size(), total, needed);
    // Released entries may only hold keys before the window of the sequence's first new token.
    const int32_t first_key = sliding_window > 0 ? s.context_len - sliding_window + 1 : 0;
    for (size_t i = 0; i < s.block_table.size(); ++i) {
      const int32_t b = s.block_table[i];
      if (b == kReleasedBlock && int64_t(i + 1) * block_len <= first_key) continue;
      if (b == kReleasedBlock)
        fail("batch: block {} of a sequence was released but its keys are still in a query's window", i);
      if (b < 0 || b >= num_blocks) fail("batch: block id {} outside the cache (0..{})", b, num_blocks - 1);
    }
    p.max_blocks = std::max(p.max_blocks, int32_t(s.block_table.size()));
    p.max_context = std::max(p.max_context, total);
    p.max_new_tokens = std::max(p.max_new_tokens, s.num_tokens);
    const int32_t row0 = p.num_tokens;
    for (int32_t i = 0; i < s.num_tokens; ++i) {
      const int32_t pos = s.context_len + i;
      p.positions.push_back(pos);
      p.slot_mapping.push_back(s.block_table[pos / block_len] * block_len + pos % block_len);
      if (s.all_logits || (s.logits && i == s.num_tokens - 1)) p.logit_rows.push_back(row0 + i);
    }
    p.num_tokens += s.num_tokens;
    p.query_start.push_back(p.num_tokens);
    p.context_lens.push_back(total);
    p.logit_row_start.push_back(int32_t(p.logit_rows.size()));
  }
  if (int32_t(input.token_ids.size()) != p.num_tokens)
    fail("batch: {} token ids for {} new tokens", input.token_ids.size(), p.num_tokens);
  p.block_tables.assign(size_t(p.num_sequences) * p.max_blocks, 0);
  for (int32_t i = 0; i < p.num_sequences; ++i) {
    const auto& bt = input.sequences[i].block_table;
    std::copy(bt.begin(), bt.end(), p.block_tables.begin() + size_t(i) * p.max_blocks);
  }
  return p;
}

}  // namespace turbine
