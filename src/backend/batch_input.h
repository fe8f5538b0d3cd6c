// What one forward step computes: new tokens of many sequences (prefill chunks and decodes mixed),
// each with the KV blocks that hold its context. Built by the engine's runner (or a simple
// generator); the backend never sees requests, only this.
#pragma once
#include <cstdint>
#include <vector>

namespace turbine {

// A block-table entry with no block: its keys lie before the sliding window of every query that
// could still read them, so the engine released it. Only a leading run of entries may be so.
constexpr int32_t kReleasedBlock = -1;

struct SequenceInput {
  int32_t context_len = 0;           // tokens of this sequence already in the KV cache (positions 0..context_len-1)
  int32_t num_tokens = 0;            // new tokens this step, at positions context_len .. context_len+num_tokens-1
  std::vector<int32_t> block_table;  // physical KV blocks covering positions 0 .. context_len+num_tokens-1
  bool all_logits = false;           // logits for every new token (perplexity, teacher forcing); else only the last
  bool logits = true;                // false: no logits at all (a prefill chunk short of the prompt's end)
};

struct BatchInput {
  std::vector<int32_t> token_ids;  // the new tokens of all sequences, concatenated in order
  std::vector<SequenceInput> sequences;
};

// Host-side index arrays derived from a BatchInput; backends upload them as they need.
struct BatchPlan {
  int32_t num_tokens = 0;
  int32_t num_sequences = 0;
  int32_t max_blocks = 0;      // block_tables row width
  int32_t max_context = 0;     // longest context_len + num_tokens
  int32_t max_new_tokens = 0;  // longest num_tokens
  // The cache geometry plan_batch checked the block tables against: every block id is below
  // num_blocks, and released entries lie before every query's window of this many tokens.
  int32_t block_len = 0;
  int32_t num_blocks = 0;
  int32_t sliding_window = 0;
  std::vector<int32_t> token_ids;        // [num_tokens]
  std::vector<int32_t> positions;        // [num_tokens]
  std::vector<int32_t> slot_mapping;     // [num_tokens] block*block_len + offset of each new token's KV
  std::vector<int32_t> query_start;      // [num_sequences+1] first new-token row of each sequence
  std::vector<int32_t> context_lens;     // [num_sequences] context_len + num_tokens
  std::vector<int32_t> block_tables;     // [num_sequences * max_blocks], padded with 0
  std::vector<int32_t> logit_rows;       // rows of the new tokens whose logits are wanted (may be none)
  std::vector<int32_t> logit_row_start;  // [num_sequences+1] where each sequence's logit rows begin
};

// Validates the input against the cache geometry (throws Error) and derives the index arrays.
// With a sliding window, kReleasedBlock entries are accepted where no new token's window reaches.
BatchPlan plan_batch(const BatchInput& input, int32_t block_len, int32_t num_blocks, int32_t sliding_window = 0);

}  // namespace turbine
