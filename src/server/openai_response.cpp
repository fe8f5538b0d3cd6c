#include "server/openai_response.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace turbine::server {

using Json = nlohmann::ordered_json;

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
std::string sse(const Json& j) { return "data: " + dump(j) + "\n\n"; }

Json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

const char* object_name(ApiKind kind, bool chunk) {
  if (kind == ApiKind::Chat) return chunk ? "chat.completion.chunk" : "chat.completion";
  return "text_completion";
}

Json envelope(const ResponseHeader& h, bool chunk) {
  return {{"id", h.id}, {"object", object_name(h.kind, chunk)}, {"created", h.created}, {"model", h.model}};
}

Json reason_json(const std::string* reason) { return reason ? Json(*reason) : Json(); }

// -inf cannot be written in JSON; vLLM's floor stands for it.
double logprob_json(float logprob) { return std::max(double(logprob), -9999.0); }

Json bytes_json(const std::string& token) {
  Json bytes = Json::array();
  for (unsigned char b : token) bytes.push_back(int(b));
  return bytes;
}

// OpenAI's chat format: {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}.
Json chat_logprobs(std::span<const LogprobStep> steps) {
  Json content = Json::array();
  for (const LogprobStep& s : steps) {
    Json top = Json::array();
    for (const TokenLogprobView& t : s.top)
      top.push_back({{"token", t.token}, {"logprob", logprob_json(t.logprob)}, {"bytes", bytes_json(t.token)}});
    content.push_back({{"token", s.chosen.token},
                       {"logprob", logprob_json(s.chosen.logprob)},
                       {"bytes", bytes_json(s.chosen.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

// The legacy completions format: parallel lists, each alternative set a {token: logprob} map that
// also holds the chosen token (as vLLM writes it).
Json completion_logprobs(std::span<const LogprobStep> steps) {
  Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(), offsets = Json::array();
  for (const LogprobStep& s : steps) {
    tokens.push_back(s.chosen.token);
    token_logprobs.push_back(logprob_json(s.chosen.logprob));
    Json top = Json::object();
    for (const TokenLogprobView& t : s.top)
      if (!top.contains(t.token)) top[t.token] = logprob_json(t.logprob);
    if (!top.contains(s.chosen.token)) top[s.chosen.token] = logprob_json(s.chosen.logprob);
    top_logprobs.push_back(std::move(top));
    offsets.push_back(s.text_offset);
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_logprobs)},
          {"top_logprobs", std::move(top_logprobs)},
          {"text_offset", std::move(offsets)}};
}

// LMDeploy's /generate format: per token a {"id": logprob} map of the alternatives and the chosen id.
Json generate_logprobs(std::span<const LogprobStep> steps) {
  Json list = Json::array();
  for (const LogprobStep& s : steps) {
    Json top = Json::object();
    for (const TokenLogprobView& t : s.top) top[std::to_string(t.id)] = logprob_json(t.logprob);
    top[std::to_string(s.chosen.id)] = logprob_json(s.chosen.logprob);
    list.push_back(std::move(top));
  }
  return list;
}

// OpenAI's tool_calls; `streamed` adds each call's index (chunks name the call they add to).
Json tool_calls_json(const std::vector<ToolCall>& calls, bool streamed) {
  Json list = Json::array();
  for (const ToolCall& call : calls) {
    Json j = Json::object();
    if (streamed) j["index"] = call.index;
    j["id"] = call.id;
    j["type"] = "function";
    j["function"] = {{"name", call.name}, {"arguments", call.arguments}};
    list.push_back(std::move(j));
  }
  return list;
}

Json logprobs_json(const ResponseHeader& h, std::span<const LogprobStep> steps) {
  if (!h.logprobs) return nullptr;
  switch (h.kind) {
    case ApiKind::Chat: return chat_logprobs(steps);
    case ApiKind::Completion: return completion_logprobs(steps);
    case ApiKind::Generate: return generate_logprobs(steps);
  }
  return nullptr;
}

Json chat_message(const ChoiceResult& c) {
  if (!c.parsed) return {{"role", "assistant"}, {"content", c.text}};
  const ReplyDelta& reply = *c.parsed;
  Json message = {{"role", "assistant"}};
  // A reply of only calls (or only reasoning) has no content: null, as OpenAI sends it.
  message["content"] =
      reply.content.empty() && (!reply.tool_calls.empty() || !reply.reasoning.empty()) ? Json() : Json(reply.content);
  if (c.has_reasoning) message["reasoning_content"] = reply.reasoning.empty() ? Json() : Json(reply.reasoning);
  if (!reply.tool_calls.empty()) message["tool_calls"] = tool_calls_json(reply.tool_calls, false);
  return message;
}

}  // namespace

std::string full_response(const ResponseHeader& h, const std::vector<ChoiceResult>& choices, const Usage& usage) {
  if (h.kind == ApiKind::Generate) {
    const ChoiceResult& c = choices.at(0);
    Json j = {{"text", c.text},
              {"output_ids", c.output_ids},
              {"finish_reason", c.finish_reason},
              {"input_tokens", usage.prompt_tokens - h.history_tokens},
              {"history_tokens", h.history_tokens},
              {"completion_tokens", usage.completion_tokens}};
    if (h.logprobs) j["logprobs"] = generate_logprobs(c.logprobs);
    if (h.session_id) j["session_id"] = *h.session_id;
    return dump(j);
  }
  Json j = envelope(h, false);
  Json list = Json::array();
  for (const ChoiceResult& c : choices) {
    Json choice = {{"index", c.index}};
    if (h.kind == ApiKind::Chat)
      choice["message"] = chat_message(c);
    else
      choice["text"] = c.text;
    choice["logprobs"] = logprobs_json(h, c.logprobs);
    choice["finish_reason"] = c.finish_reason;
    if (h.return_token_ids) {
      choice["prompt_token_ids"] = c.prompt_ids;
      choice["token_ids"] = c.output_ids;
    }
    list.push_back(std::move(choice));
  }
  j["choices"] = std::move(list);
  j["usage"] = usage_json(usage);
  return dump(j);
}

std::string stream_event(const ResponseHeader& h, int index, const ReplyDelta& d, const std::vector<int32_t>& ids,
                         bool first, const std::string* finish_reason, std::span<const LogprobStep> logprobs) {
  const std::string& text = d.content;
  if (h.kind == ApiKind::Generate) {
    Json j = {{"text", text}, {"output_ids", ids}, {"finish_reason", reason_json(finish_reason)}};
    if (h.logprobs) j["logprobs"] = generate_logprobs(logprobs);
    if (h.session_id) j["session_id"] = *h.session_id;
    return sse(j);
  }
  Json j = envelope(h, true);
  Json choice = {{"index", index}};
  if (h.kind == ApiKind::Chat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    if (!text.empty() || (first && !finish_reason && d.empty())) delta["content"] = text;
    if (!d.tool_calls.empty()) delta["tool_calls"] = tool_calls_json(d.tool_calls, true);
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs_json(h, logprobs);
  choice["finish_reason"] = reason_json(finish_reason);
  if (h.return_token_ids) choice["token_ids"] = ids;
  j["choices"] = Json::array({std::move(choice)});
  if (h.include_usage) j["usage"] = nullptr;
  return sse(j);
}

std::string usage_event(const ResponseHeader& h, const Usage& usage) {
  if (h.kind == ApiKind::Generate) return sse({{"usage", usage_json(usage)}});
  Json j = envelope(h, true);
  j["choices"] = Json::array();
  j["usage"] = usage_json(usage);
  return sse(j);
}

}  // namespace turbine::server
