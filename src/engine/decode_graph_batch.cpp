#include "engine/decode_graph_batch.h"

#include <algorithm>
#include <bit>

namespace turbine {

namespace {

// Fine buckets where a step's cost grows with the batch, coarser beyond.
int32_t bucket_for(int32_t sequences) {
  if (sequences <= 8) return int32_t(std::bit_ceil(uint32_t(sequences)));
  if (sequences <= 64) return (sequences + 7) / 8 * 8;
  return (sequences + 31) / 32 * 32;
}

}  // namespace

std::optional<DecodeGraphKey> decode_graph_key(const BatchInput& input) {
  const int32_t n = int32_t(input.sequences.size());
  if (n == 0 || n > kMaxGraphBatch) return std::nullopt;
  size_t widest = 1;
  for (const SequenceInput& s : input.sequences) {
    if (s.num_tokens != 1 || s.all_logits || !s.logits) return std::nullopt;
    widest = std::max(widest, s.block_table.size());
  }
  return DecodeGraphKey{bucket_for(n), int32_t(std::bit_ceil(widest))};
}

BatchPlan plan_decode_graph_batch(const BatchInput& input, const DecodeGraphKey& key, int32_t block_len,
                                  int32_t num_blocks, int32_t sliding_window) {
  const int32_t real = int32_t(input.sequences.size());
  BatchInput padded = input;
  padded.sequences.resize(size_t(key.sequences));
  padded.token_ids.resize(size_t(key.sequences), 0);
  for (int32_t i = real; i < key.sequences; ++i) {
    padded.sequences[i].num_tokens = 1;
    padded.sequences[i].block_table = {0};
  }
  // One row at the full width makes plan_batch lay the tables out at that width.
  padded.sequences[0].block_table.resize(size_t(key.table_width), 0);
  BatchPlan plan = plan_batch(padded, block_len, num_blocks, sliding_window);
  for (int32_t i = real; i < key.sequences; ++i) plan.slot_mapping[i] = -1;
  plan.max_context = key.table_width * block_len;
  return plan;
}

}  // namespace turbine
