// The one check every request passes, whoever sends it (generate, chat, the server, Python), and the
// one meaning of max_new_tokens:
//   - the prompt is not empty and every id is in the vocabulary;
//   - max_new_tokens 0 generates nothing;
//   - an explicit max_new_tokens that does not fit the session (prompt + max_new_tokens >
//     session_len) is an error;
//   - without one, kDefaultMaxNewTokens is clamped to what the session leaves, and a prompt that
//     leaves no room to generate is an error;
//   - the request's tokens fit in the KV cache (when its size is known);
//   - top_logprobs is 0..kMaxTopLogprobs (and needs logprobs), the presence and frequency penalties
//     are within +-kMaxPresenceFrequencyPenalty.
// Callers may run it before loading weights (cache_tokens 0) to fail fast; Engine::submit runs it again.
#pragma once
#include <cstdint>
#include <span>

#include "engine/sampling_params.h"

namespace turbine {

struct RequestLimits {
  int vocab_size = 0;
  int session_len = 0;  // most tokens one sequence may hold (prompt + generated)
  int block_len = 0;    // KV block size in tokens (with num_blocks; 0 = cache not known yet)
  int num_blocks = 0;
};

// Throws Error (naming the field: the prompt, max_new_tokens, the session or the cache) when the
// request could never run; returns how many tokens it may generate.
int validate_request(std::span<const int32_t> prompt, const SamplingParams& params, const RequestLimits& limits);

}  // namespace turbine
