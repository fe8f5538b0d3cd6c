// Shapes a pure decode step for a recorded graph: the batch is padded to a bucket of sequences and
// its block tables to a power-of-two width, so that one graph serves every step of that bucket.
// Padding sequences compute a throwaway row: token 0 at position 0, no KV written (slot -1).
#pragma once
#include <cstdint>
#include <optional>

#include "backend/batch_input.h"

namespace turbine {

struct DecodeGraphKey {
  int32_t sequences = 0;    // bucket: the padded batch size
  int32_t table_width = 0;  // block-table width (power of two)
  auto operator<=>(const DecodeGraphKey&) const = default;
};

// The largest batch that decode graphs serve; bigger batches run op by op.
constexpr int32_t kMaxGraphBatch = 256;

// The bucket for a decode step of `input`, or nothing when the step is not a plain decode step
// (a sequence with several new tokens, all_logits or no logits) or the batch is too large.
std::optional<DecodeGraphKey> decode_graph_key(const BatchInput& input);

// plan_batch of the padded batch, with padding rows writing no KV and max_context fixed at the
// table's capacity (kernels that size work by it then do the same on every replay).
BatchPlan plan_decode_graph_batch(const BatchInput& input, const DecodeGraphKey& key, int32_t block_len,
                                  int32_t num_blocks, int32_t sliding_window = 0);

}  // namespace turbine
