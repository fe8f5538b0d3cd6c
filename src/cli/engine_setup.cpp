#include "cli/engine_setup.h"

namespace turbine::cli {

turbine::EngineOptions make_engine_options(const EngineOptions& flags) {
  turbine::EngineOptions o;
  o.max_batch_size = flags.max_batch_size;
  const CacheBudget budget = parse_cache_budget(flags.cache_max_entry_count);
  o.cache_max_entry_count.fraction = budget.fraction;
  o.cache_max_entry_count.bytes = budget.bytes;
  o.cache_block_seq_len = flags.cache_block_seq_len;
  o.kv_format = parse_kv_format(flags.kv_quant);
  o.session_len = flags.session_len;
  o.max_prefill_token_num = flags.max_prefill_token_num;
  return o;
}

}  // namespace turbine::cli
