// Log-probabilities of a generated token and of the most likely alternatives at its step, taken
// from the log-softmax of the model's raw logits row (before penalties and temperature: vLLM's
// default "raw logprobs"), so they describe the model, not the sampling settings.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace turbine {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

struct TokenLogprobs {
  TokenLogprob chosen;            // the generated token
  std::vector<TokenLogprob> top;  // the top_logprobs most likely tokens, descending (ties: lower id)
};

// From one raw logits row: log p(chosen) and the `top_n` largest log-probabilities. NaN logits
// count as impossible (-inf), as the samplers skip them.
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int top_n);

}  // namespace turbine
