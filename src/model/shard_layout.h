// Which part of the model one tensor-parallel rank holds: its attention heads (whole KV-head
// groups; with fewer KV heads than ranks each rank keeps a copy of the one its query heads read),
// its rows of the MLP's intermediate dimension and its rows of the vocabulary.
#pragma once
#include <cstdint>

#include "model/model_config.h"

namespace turbine {

struct ShardLayout {
  int rank = 0, size = 1;
  int first_q_head = 0, q_heads = 0;       // query heads [first, first + count)
  int first_kv_head = 0, kv_heads = 0;     // key/value heads this rank's queries read
  int64_t inter_begin = 0, inter_end = 0;  // rows of gate and up, columns of down
  int64_t vocab_begin = 0, vocab_end = 0;  // rows of the embedding and lm_head, columns of the logits

  int64_t inter_size() const { return inter_end - inter_begin; }
  int64_t vocab_size() const { return vocab_end - vocab_begin; }
  // The rank's embedding table: its vocabulary rows plus, when there are several ranks, one row of
  // zeros that every token outside the rank's rows reads (their sum over the ranks is the embedding).
  int64_t embed_rows() const { return vocab_size() + (size > 1 ? 1 : 0); }
  // Whether this rank adds the biases of the row-parallel projections (o, down): one rank does,
  // so the all-reduce adds each bias once.
  bool adds_row_parallel_bias() const { return rank == 0; }
};

// Throws Error naming --tp when the heads do not divide among `size` ranks.
ShardLayout shard_layout(const ModelConfig& config, int rank, int size);

// The config as one rank sees it: its heads, intermediate size and vocabulary rows.
ModelConfig shard_config(const ModelConfig& config, const ShardLayout& layout);

}  // namespace turbine
