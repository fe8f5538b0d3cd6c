#include "cli/engine_setup.h"

namespace turbine::cli {

turbine::EngineOptions make_engine_options(const EngineOptions& flags) {
  turbine::EngineOptions o;
  o.max_batch_size = flags.max_batch_size;
  const CacheBudget budget = parse_cache_budget(flags.cache_max_entry_count);
  o.cache_max_entry_count.fraction = budget.fraction;
  o.cache_max_entry_count.bytes = budget.bytes;
  o.cache_block_seq_len = flags.cache_block_seq_len;
  o.session_len = flags.session_len;
  o.max_prefill_token_num = flags.max_prefill_token_num;
  return o;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int32_t> ids;
  if (tokenizer.add_bos && tokenizer.bos_id) ids.push_back(*tokenizer.bos_id);
  const auto body = tokenizer.encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace turbine::cli
