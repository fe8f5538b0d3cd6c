// The bodies of the generation endpoints (/v1/completions, /v1/chat/completions, /generate) parsed
// and checked into typed structs. Every wrong field is an ApiError naming it; fields that the
// server does not implement yet are a 400 "not supported yet" rather than silently ignored.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampling_params.h"

namespace turbine::server {

// Sampling fields a request set (absent ones keep the model's defaults).
// max_new_tokens holds max_tokens / max_completion_tokens / request_output_len.
struct SamplingFields : SamplingOverrides {
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool include_stop_str_in_output = false;
  // Chat: logprobs (bool) + top_logprobs (0..20); completions: logprobs (int 0..5) = the top count;
  // /generate: logprobs (int 0..20), LMDeploy's.
  bool logprobs = false;
  int top_logprobs = 0;
  bool tokens_as_ids = false;  // vLLM's return_tokens_as_token_ids: logprob tokens as "token_id:N"
  // response_format json_object / json_schema (chat and completions): the compiled grammar.
  std::shared_ptr<const JsonGrammar> guided;
};

// A prompt as text or as token ids (taken as given: no BOS is added to ids).
using PromptInput = std::variant<std::string, std::vector<int32_t>>;

struct CompletionRequest {
  std::optional<std::string> model;
  std::vector<PromptInput> prompts;  // one or more; each yields n choices
  SamplingFields sampling;
  int n = 1;
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  bool return_token_ids = false;  // extension: token ids of prompt and output in each choice
  std::string session_id;         // names the request for /abort_request ("" when none)
};

// tool_choice: "none" keeps the tools from the template and the reply unparsed; "auto" gives them to
// the template; "required" and a named function (which alone goes to the template) also make the
// reply one guided call where the server parses calls (completion_endpoints.cpp, tool_call_grammar.h).
enum class ToolChoice { None, Auto, Required, Function };

struct ChatRequest {
  std::optional<std::string> model;
  // [{"role", "content": string}, ...] with content parts joined; an assistant's tool_calls (arguments
  // as a JSON object where the client sent a string that holds one), an assistant's reasoning_content
  // and a tool's tool_call_id kept.
  nlohmann::ordered_json messages;
  nlohmann::ordered_json tools;               // null or the function tools as the client sent them (checked)
  ToolChoice tool_choice = ToolChoice::None;  // default: "auto" with tools, "none" without
  std::string tool_choice_name;               // ToolChoice::Function: the declared tool it names
  nlohmann::ordered_json template_vars;       // chat_template_kwargs
  SamplingFields sampling;
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool return_token_ids = false;
  std::string session_id;
};

// LMDeploy's /generate: one prompt, optionally appended to a stateful session.
struct GenerateRequest {
  std::optional<PromptInput> prompt;  // absent only with end_session
  std::optional<uint64_t> session_id;
  bool end_session = false;  // release the session after this call (or now, without a prompt)
  SamplingFields sampling;
  bool stream = false;
};

struct EncodeRequest {
  std::vector<std::string> inputs;
  bool add_bos = true;
};

// Parse the raw body; a non-object or malformed JSON (including invalid UTF-8) is an ApiError.
nlohmann::ordered_json parse_json_body(const std::string& body);

CompletionRequest parse_completion_request(const nlohmann::ordered_json& body);
ChatRequest parse_chat_request(const nlohmann::ordered_json& body);
GenerateRequest parse_generate_request(const nlohmann::ordered_json& body);
EncodeRequest parse_encode_request(const nlohmann::ordered_json& body);

// `defaults` (the model's generation config) with the request's fields applied.
SamplingParams apply_sampling(const SamplingFields& fields, SamplingParams defaults);

}  // namespace turbine::server
