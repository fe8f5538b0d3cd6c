// How one request picks its next tokens and when it stops.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace turbine {

constexpr int kDefaultMaxNewTokens = 256;

struct SamplingParams {
  float temperature = 0.0f;        // 0 = greedy
  int top_k = 0;                   // 0 = off
  float top_p = 1.0f;              // 1 = off
  float min_p = 0.0f;              // 0 = off
  float repetition_penalty = 1.0f; // 1 = off (HF rule: divide positive logits, multiply negative)
  uint64_t seed = 0;
  // Absent: kDefaultMaxNewTokens, clamped to what the session leaves; 0 generates nothing; an explicit
  // value that does not fit the session is an error (engine/request_validation.h).
  std::optional<int> max_new_tokens;
  std::vector<std::string> stop;   // stop strings (not printed)
  std::vector<int32_t> stop_ids;   // EOS-like ids that end generation (not printed)
  bool ignore_eos = false;         // generate through stop_ids
};

}  // namespace turbine
