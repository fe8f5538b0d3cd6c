#include "server/endpoint_common.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "core/error.h"
#include "engine/request_validation.h"
#include "server/api_error.h"

namespace turbine::server {

void check_model(const ServedModel& model, const std::optional<std::string>& requested) {
  if (requested && *requested != model.name)
    throw ApiError(404, "invalid_request_error", "model", "model_not_found",
                   fmt::format("the model '{}' does not exist; this server serves '{}'", *requested, model.name));
}

std::vector<int32_t> prompt_ids(const ServedModel& model, const PromptInput& prompt, bool add_bos,
                                const std::string& param) {
  const Tokenizer& tokenizer = *model.tokenizer;
  if (const auto* ids = std::get_if<std::vector<int32_t>>(&prompt)) {
    for (int32_t id : *ids)
      if (id >= tokenizer.vocab_size())
        reject(param, "'{}': token id {} is outside the vocabulary (0..{})", param, id, tokenizer.vocab_size() - 1);
    return *ids;
  }
  std::vector<int32_t> ids;
  if (add_bos && tokenizer.add_bos && tokenizer.bos_id) ids.push_back(*tokenizer.bos_id);
  const auto body = tokenizer.encode(std::get<std::string>(prompt));
  ids.insert(ids.end(), body.begin(), body.end());
  if (ids.empty()) reject(param, "'{}' is empty", param);
  return ids;
}

namespace {

[[noreturn]] void too_long(const std::string& message) {
  throw ApiError(400, "invalid_request_error", "max_tokens", "context_length_exceeded", message);
}

}  // namespace

SamplingParams plan_sampling(const ServedModel& model, const SamplingFields& fields, std::span<const int32_t> prompt,
                             int default_max_tokens) {
  const Engine& engine = *model.engine;
  const RequestLimits limits = engine.limits();
  SamplingParams p = apply_sampling(fields, model.defaults);
  if (fields.max_new_tokens) {
    p.max_new_tokens = *fields.max_new_tokens;
  } else {
    // Without max_tokens a request takes what the session and the whole KV cache leave it (a
    // completion's default is OpenAI's 16); nothing left is validate_request's error.
    const int64_t len = int64_t(prompt.size());
    int64_t n = std::min<int64_t>(limits.session_len - len, int64_t(limits.num_blocks) * limits.block_len - len);
    if (default_max_tokens > 0) n = std::min<int64_t>(n, default_max_tokens);
    if (n > 0) p.max_new_tokens = int(n);
  }
  try {
    p.max_new_tokens = validate_request(prompt, p, limits);
  } catch (const Error& e) {
    too_long(e.what());
  }
  if (!fields.seed) p.seed = std::random_device{}();
  return p;
}

SamplingParams for_choice(SamplingParams params, int index) {
  params.seed += uint64_t(index);
  return params;
}

std::string make_response_id(const std::string& prefix) {
  std::random_device rd;
  return fmt::format("{}-{:08x}{:08x}", prefix, rd(), rd());
}

int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace turbine::server
