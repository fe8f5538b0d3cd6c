#include "model/shard_layout.h"

#include "core/error.h"

namespace turbine {

ShardLayout shard_layout(const ModelConfig& c, int rank, int size) {
  if (size < 1) fail("--tp {}: the tensor-parallel size must be at least 1", size);
  if (rank < 0 || rank >= size) fail("tensor parallel: rank {} of {}", rank, size);
  if (c.num_heads <= 0 || c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
    fail("model config: {} attention heads and {} key/value heads", c.num_heads, c.num_kv_heads);
  if (c.num_heads % size != 0)
    fail("--tp {}: the model's {} attention heads do not divide among {} ranks", size, c.num_heads, size);
  if (c.num_kv_heads >= size ? c.num_kv_heads % size != 0 : size % c.num_kv_heads != 0)
    fail("--tp {}: the model's {} key/value heads neither divide among {} ranks nor divide {}", size, c.num_kv_heads,
         size, size);
  if (size > 1 && c.moe.num_experts > 0)
    fail("--tp {}: tensor parallelism of mixture-of-experts models is not supported yet", size);
  if (c.intermediate_size < size || c.vocab_size < size)
    fail("--tp {}: more ranks than the model's intermediate size ({}) or vocabulary ({})", size, c.intermediate_size,
         c.vocab_size);
  ShardLayout s;
  s.rank = rank;
  s.size = size;
  s.q_heads = c.num_heads / size;
  s.first_q_head = rank * s.q_heads;
  if (c.num_kv_heads >= size) {
    s.kv_heads = c.num_kv_heads / size;
    s.first_kv_head = rank * s.kv_heads;
  } else {
    s.kv_heads = 1;  // a copy of the one key/value head this rank's query heads share
    s.first_kv_head = s.first_q_head / (c.num_heads / c.num_kv_heads);
  }
  // Near-equal ranges: the intermediate size and the vocabulary need not divide.
  const auto range = [&](int64_t n, int r) { return n * r / size; };
  s.inter_begin = range(c.intermediate_size, rank);
  s.inter_end = range(c.intermediate_size, rank + 1);
  s.vocab_begin = range(c.vocab_size, rank);
  s.vocab_end = range(c.vocab_size, rank + 1);
  return s;
}

ModelConfig shard_config(const ModelConfig& config, const ShardLayout& layout) {
  ModelConfig c = config;
  c.num_heads = layout.q_heads;
  c.num_kv_heads = layout.kv_heads;
  c.intermediate_size = int(layout.inter_size());
  c.vocab_size = int(layout.vocab_size());
  return c;
}

}  // namespace turbine
