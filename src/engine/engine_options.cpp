#include "engine/engine_options.h"

#include "core/error.h"

namespace turbine {

void validate(const EngineOptions& o) {
  if (o.max_batch_size <= 0) fail("--max-batch-size must be positive, got {}", o.max_batch_size);
  if (o.cache_block_seq_len <= 0) fail("--cache-block-seq-len must be positive, got {}", o.cache_block_seq_len);
  if (o.max_prefill_token_num <= 0) fail("--max-prefill-token-num must be positive, got {}", o.max_prefill_token_num);
  if (o.sampling_threads < 0) fail("--sampling-threads must be at least 0, got {}", o.sampling_threads);
  if (o.session_len < 0) fail("--session-len must be positive, got {}", o.session_len);
  if (o.cache_max_entry_count.bytes == 0 &&
      !(o.cache_max_entry_count.fraction > 0 && o.cache_max_entry_count.fraction <= 1))
    fail("--cache-max-entry-count: a fraction must be in (0, 1], got {}", o.cache_max_entry_count.fraction);
}

}  // namespace turbine
