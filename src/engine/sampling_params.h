// How one request picks its next tokens and when it stops.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guided/json_grammar.h"

namespace turbine {

constexpr int kDefaultMaxNewTokens = 256;
constexpr int kMaxTopLogprobs = 20;
constexpr float kMaxPresenceFrequencyPenalty = 2.0f;

struct SamplingParams {
  float temperature = 0.0f;         // 0 = greedy
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float min_p = 0.0f;               // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off (HF rule: divide positive logits, multiply negative)
  // OpenAI's rule over the ids generated so far (not the prompt, as vLLM counts):
  // logit[t] -= presence_penalty * (count[t] > 0) + frequency_penalty * count[t]. 0 = off, -2..2.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  // Absent: kDefaultMaxNewTokens, clamped to what the session leaves; 0 generates nothing; an explicit
  // value that does not fit the session is an error (engine/request_validation.h).
  std::optional<int> max_new_tokens;
  std::vector<std::string> stop;            // stop strings (not printed unless include_stop_str_in_output)
  std::vector<int32_t> stop_ids;            // EOS-like ids that end generation (not printed)
  bool ignore_eos = false;                  // generate through stop_ids
  bool include_stop_str_in_output = false;  // a stop string that ends generation stays in the text
  // Each generated token's log-probability and its top_logprobs most likely alternatives (0..20),
  // from the log-softmax of the model's raw logits (before any penalty or temperature).
  bool logprobs = false;
  int top_logprobs = 0;
  // Guided decoding (response_format json_object / json_schema): the output is one JSON value of
  // this grammar. Compiled once per request and shared, immutable, by its sequences; each sequence's
  // Sampler keeps its own place in it. Tokens the grammar does not allow get -inf before any
  // penalty, temperature or top-k/top-p/min-p; logprobs stay those of the raw logits.
  std::shared_ptr<const JsonGrammar> guided;
};

// The sampling settings a caller set (a flag, a request field, a Python argument); the absent ones
// keep the model's defaults (engine/sampling_defaults.h applies them).
struct SamplingOverrides {
  std::optional<int> max_new_tokens;
  std::optional<float> temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
};

}  // namespace turbine
