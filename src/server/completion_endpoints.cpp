// /v1/completions and /v1/chat/completions: requests become engine choices (prompts x n) run by a
// GenerationJob. A chat's session_id only names the request; the prefix cache reuses the KV of
// the conversation so far. A chat's tools go to the template, and its reply goes through the
// server's reply parsers (--tool-call-parser when the request has tools, --reasoning-parser); a
// tool_choice that demands a call ends the prompt with the call block's opening and guides the
// call that follows (tool_call_grammar.h).
#include <algorithm>

#include "core/error.h"
#include "server/api_error.h"
#include "server/endpoint_common.h"
#include "server/endpoints.h"
#include "server/generation_job.h"
#include "server/tool_call_grammar.h"

namespace turbine::server {

namespace {

std::vector<std::string> tags_of(const std::string& response_id, const std::string& session_id) {
  std::vector<std::string> tags{response_id};
  if (!session_id.empty()) tags.push_back(session_id);
  return tags;
}

// A job's response header and stream settings from the fields completions and chat share.
template <typename Request>
JobSpec job_spec(ApiKind kind, const char* id_prefix, const ServedModel& model, const Request& r) {
  JobSpec spec;
  spec.header.kind = kind;
  spec.header.id = make_response_id(id_prefix);
  spec.header.created = unix_time_now();
  spec.header.model = model.name;
  spec.header.return_token_ids = r.return_token_ids;
  spec.header.include_usage = r.include_usage;
  spec.header.logprobs = r.sampling.logprobs;
  spec.logprob_tokens_as_ids = r.sampling.tokens_as_ids;
  spec.stream = r.stream;
  spec.tags = tags_of(spec.header.id, r.session_id);
  return spec;
}

// The declared tool `name` names (parse_tool_choice checked that there is one), as a list of one.
nlohmann::ordered_json named_tool(const nlohmann::ordered_json& tools, const std::string& name) {
  nlohmann::ordered_json one = nlohmann::ordered_json::array();
  for (const auto& tool : tools)
    if (tool["function"]["name"] == name) one.push_back(tool);
  return one;
}

}  // namespace

void handle_completions(ServingContext& context, const nlohmann::ordered_json& body,
                        std::shared_ptr<ResponseSink> sink) {
  const ServedModel& model = *context.model();
  const CompletionRequest r = parse_completion_request(body);
  check_model(model, r.model);
  JobSpec spec = job_spec(ApiKind::Completion, "cmpl", model, r);
  for (size_t p = 0; p < r.prompts.size(); ++p) {
    const std::vector<int32_t> ids = prompt_ids(model, r.prompts[p], true, "prompt");
    // OpenAI's default of 16 tokens for completions.
    const SamplingParams params = plan_sampling(model, r.sampling, ids, 16);
    for (int j = 0; j < r.n; ++j) spec.choices.push_back({ids, for_choice(params, j), int(p), std::nullopt});
  }
  GenerationJob::start(context, std::move(sink), std::move(spec));
}

void handle_chat(ServingContext& context, const nlohmann::ordered_json& body, std::shared_ptr<ResponseSink> sink) {
  const ServedModel& model = *context.model();
  const ChatRequest r = parse_chat_request(body);
  check_model(model, r.model);
  if (!model.chat_template)
    reject("messages", "the model '{}' has no usable chat template ({}); start the server with --chat-template FILE",
           model.name, model.chat_template_problem);
  // The same template input as `turbine chat` and `turbine template` (the tokenizer's special tokens),
  // with the request's chat_template_kwargs over it.
  ChatTemplateInput in = chat_template_input(model.tokenizer->config);
  in.messages = r.messages;
  // "none": the template sees no tools; a named function: that tool alone.
  if (r.tool_choice == ToolChoice::Function)
    in.tools = named_tool(r.tools, r.tool_choice_name);
  else if (r.tool_choice != ToolChoice::None)
    in.tools = r.tools;
  for (const auto& [name, value] : r.template_vars.items()) in.extra_vars[name] = value;
  std::string rendered;
  try {
    rendered = context.render_chat(in);
  } catch (const Error& e) {
    reject("messages", "the chat template refused the messages: {}", e.what());
  }
  // "required" or a named function, with a tool-call parser: the prompt ends with the call block's
  // opening and the reply is guided to be one call object that parses, unless the prompt opened a
  // reasoning block (the call would land in it). The parser reads the opening first
  // (ReplyParsing::forced_prefix). parse_chat_request refuses a JSON response_format beside it.
  const bool parses_calls = r.tool_choice != ToolChoice::None && context.options.tool_call_parser;
  const bool opened_reasoning = prompt_opens_reasoning(rendered);
  std::string forced_prefix;
  std::shared_ptr<const JsonGrammar> call_grammar;
  if (parses_calls && (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Function) &&
      !opened_reasoning) {
    const ToolCallFormat format = *context.options.tool_call_parser;
    forced_prefix = forced_tool_call_opening(format);
    call_grammar = forced_tool_call_grammar(format, r.tools,
                                            r.tool_choice == ToolChoice::Function ? &r.tool_choice_name : nullptr);
  }
  // The rendering writes its own BOS where the template has one (its special-token strings become ids).
  const std::vector<int32_t> ids = prompt_ids(model, rendered + forced_prefix, false, "messages");
  SamplingParams params = plan_sampling(model, r.sampling, ids, 0);
  if (call_grammar) params.guided = call_grammar;
  for (int32_t id : model.chat_stop_ids)
    if (std::find(params.stop_ids.begin(), params.stop_ids.end(), id) == params.stop_ids.end())
      params.stop_ids.push_back(id);
  JobSpec spec = job_spec(ApiKind::Chat, "chatcmpl", model, r);
  if (parses_calls) spec.reply_parsing.tool_calls = context.options.tool_call_parser;
  spec.reply_parsing.reasoning = context.options.reasoning_parser;
  spec.reply_parsing.prompt_opened_reasoning = opened_reasoning;
  spec.reply_parsing.forced_prefix = forced_prefix;
  for (int j = 0; j < r.n; ++j) spec.choices.push_back({ids, for_choice(params, j), 0, std::nullopt});
  GenerationJob::start(context, std::move(sink), std::move(spec));
}

}  // namespace turbine::server
