// The engine's knobs, with LMDeploy's names and defaults (see docs/CLI.md, "Engine options").
#pragma once
#include <cstddef>

#include "backend/kv_format.h"

namespace turbine {

// --cache-max-entry-count: a fraction of the backend's free memory (cpu: of --cpu-memory), or an
// absolute size when given with a unit ("6GiB").
struct CacheSize {
  double fraction = 0.8;
  size_t bytes = 0;  // non-zero: absolute size, fraction ignored
};

struct EngineOptions {
  int max_batch_size = 128;
  CacheSize cache_max_entry_count;
  int cache_block_seq_len = 64;
  KvFormat kv_format = KvFormat::Dense;  // --kv-quant: how the KV cache stores rows (sizes the blocks)
  int session_len = 0;  // longest conversation in tokens; 0 = the model's max_position_embeddings
  int max_prefill_token_num = 8192;
  // --sampling-threads: threads (at most the machine's cores) that find guided rows' masks while the
  // forward pass runs and sample the rows sampled on the host after it; 0 does both on the step thread.
  int sampling_threads = 4;
  int num_blocks = 0;             // exact number of KV blocks (overrides cache_max_entry_count; tests)
  bool check_invariants = false;  // check the block bookkeeping after every step (tests)
};

// Throws Error naming the flag of the first bad value.
void validate(const EngineOptions& options);

}  // namespace turbine
