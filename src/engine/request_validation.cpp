#include "engine/request_validation.h"

#include <algorithm>

#include "core/error.h"

namespace turbine {

int validate_request(std::span<const int32_t> prompt, const SamplingParams& params, const RequestLimits& limits) {
  if (prompt.empty()) fail("the prompt is empty (no BOS and no tokens)");
  for (int32_t id : prompt)
    if (id < 0 || id >= limits.vocab_size)
      fail("the prompt's token id {} is outside the vocabulary (0..{})", id, limits.vocab_size - 1);
  if (params.top_logprobs < 0 || params.top_logprobs > kMaxTopLogprobs)
    fail("top_logprobs must be between 0 and {}, got {}", kMaxTopLogprobs, params.top_logprobs);
  if (params.top_logprobs > 0 && !params.logprobs) fail("top_logprobs {} needs logprobs on", params.top_logprobs);
  const auto check_penalty = [](const char* name, float x) {
    constexpr float limit = kMaxPresenceFrequencyPenalty;
    // Written as a negated range test so that NaN fails too.
    if (!(x >= -limit && x <= limit)) fail("{} must be between -{} and {}, got {}", name, limit, limit, x);
  };
  check_penalty("presence_penalty", params.presence_penalty);
  check_penalty("frequency_penalty", params.frequency_penalty);
  const int64_t prompt_len = int64_t(prompt.size());
  const int64_t room = int64_t(limits.session_len) - prompt_len;
  int64_t max_new = 0;
  if (params.max_new_tokens) {
    max_new = *params.max_new_tokens;
    if (max_new < 0) fail("max_new_tokens must not be negative, got {}", max_new);
    if (max_new > room)
      fail("max_new_tokens {} does not fit: the prompt has {} tokens and the session holds {} (--session-len)", max_new,
           prompt_len, limits.session_len);
  } else {
    if (room <= 0)
      fail("the prompt has {} tokens; a session of {} tokens (--session-len) leaves no room to generate", prompt_len,
           limits.session_len);
    max_new = std::min<int64_t>(kDefaultMaxNewTokens, room);
  }
  if (limits.block_len > 0) {
    const int64_t tokens = prompt_len + max_new;
    const int64_t blocks = (tokens + limits.block_len - 1) / limits.block_len;
    if (blocks > limits.num_blocks)
      fail(
          "the request's {} tokens need {} KV blocks but the cache holds {} (raise --cache-max-entry-count or "
          "lower max_new_tokens)",
          tokens, blocks, limits.num_blocks);
  }
  return int(max_new);
}

}  // namespace turbine
