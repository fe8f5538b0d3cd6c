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
  o.sampling_threads = flags.sampling_threads;
  return o;
}

EngineOptions with_workspace_tunables(const EngineOptions& flags, const LoadedModel& model) {
  if (!model.workspace) return flags;
  const WorkspaceTunables& t = model.workspace->tunables;
  EngineOptions o = flags;
  const auto unless_given = [&](const char* flag, auto& field, const auto& value) {
    if (!flags.given.count(flag)) field = value;
  };
  unless_given("--max-batch-size", o.max_batch_size, t.max_batch_size);
  unless_given("--cache-max-entry-count", o.cache_max_entry_count, t.cache_max_entry_count);
  unless_given("--cache-block-seq-len", o.cache_block_seq_len, t.cache_block_seq_len);
  unless_given("--session-len", o.session_len, t.session_len);
  unless_given("--max-prefill-token-num", o.max_prefill_token_num, t.max_prefill_token_num);
  unless_given("--kv-quant", o.kv_quant, t.kv_quant);
  return o;
}

}  // namespace turbine::cli
