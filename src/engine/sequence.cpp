#include "engine/sequence.h"

#include <utility>

namespace turbine {

Sequence::Sequence(uint64_t id_, std::vector<int32_t> prompt, int max_tokens_, std::optional<uint64_t> session)
    : id(id_), session_id(session), tokens(std::move(prompt)), max_tokens(max_tokens_) {
  prompt_len = int(tokens.size());
}

void Sequence::reset_cache_state() {
  num_computed = 0;
  num_cached_prefix = 0;
  prefilling = true;
  block_table.clear();
  block_hashes.clear();
}

}  // namespace turbine
