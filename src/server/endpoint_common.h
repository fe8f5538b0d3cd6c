// Steps the generation endpoints share: checking the model name, turning a prompt into ids,
// resolving and bounding a request's sampling, and ids/timestamps of responses.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling_params.h"
#include "server/openai_request.h"
#include "server/serving_context.h"

namespace turbine::server {

// 404 when the request names a model other than the served one (absent: the served one).
void check_model(const ServedModel& model, const std::optional<std::string>& requested);
// Ids of a prompt: text is encoded (with BOS first when the tokenizer adds one and `add_bos`);
// ids are checked against the vocabulary. `param` names the field in errors.
std::vector<int32_t> prompt_ids(const ServedModel& model, const PromptInput& prompt, bool add_bos,
                                const std::string& param);
// The request's sampling over the model's defaults, with max_new_tokens resolved: the request's
// max_tokens, else `default_max_tokens` (0: the rest of the session and the KV cache), checked by
// the engine's one rule (validate_request; 400 context_length_exceeded when it does not fit). A
// request without a seed gets a random one.
SamplingParams plan_sampling(const ServedModel& model, const SamplingFields& fields, std::span<const int32_t> prompt,
                             int default_max_tokens);
// The sampling of choice `index` of n: the same, with its own seed so the n choices differ.
SamplingParams for_choice(SamplingParams params, int index);
std::string make_response_id(const std::string& prefix);
int64_t unix_time_now();

}  // namespace turbine::server
