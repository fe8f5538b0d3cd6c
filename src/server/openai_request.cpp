#include "server/openai_request.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/sampling_defaults.h"
#include "guided/json_schema.h"
#include "server/api_error.h"

namespace turbine::server {

using json = nlohmann::ordered_json;

namespace {

constexpr int64_t kMaxCompletionLogprobs = 5;

// The field when present and not null.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> get_int(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) reject(name, "'{}' must be an integer", name);
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    reject(name, "'{}' is out of range", name);
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) {
    if (hi == std::numeric_limits<int64_t>::max()) reject(name, "'{}' must be at least {} (got {})", name, lo, x);
    reject(name, "'{}' must be between {} and {} (got {})", name, lo, hi, x);
  }
  return x;
}

std::optional<float> get_number(const json& body, const char* name, double lo, double hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) reject(name, "'{}' must be a number", name);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) reject(name, "'{}' must be between {} and {} (got {})", name, lo, hi, x);
  return float(x);
}

std::optional<bool> get_bool(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) reject(name, "'{}' must be a boolean", name);
  return v->get<bool>();
}

std::optional<std::string> get_string(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) reject(name, "'{}' must be a string", name);
  return v->get<std::string>();
}

// A session id given as an integer or a string (it only names the request).
std::string get_name(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return "";
  if (v->is_number_integer()) return v->dump();
  if (v->is_string()) return v->get<std::string>();
  reject(name, "'{}' must be an integer or a string", name);
}

std::vector<int32_t> token_ids(const json& list, const char* name) {
  std::vector<int32_t> ids;
  if (list.empty()) reject(name, "'{}' has no tokens", name);
  for (const json& x : list) {
    if (!x.is_number_integer()) reject(name, "'{}' must hold integer token ids", name);
    const int64_t id = x.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) reject(name, "'{}': token id {} is out of range", name, id);
    ids.push_back(int32_t(id));
  }
  return ids;
}

// A string, a list of strings, a list of token ids or a list of such lists.
std::vector<PromptInput> parse_prompts(const json& v, const char* name) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array() || v.empty()) reject(name, "'{}' must be a string, a list of strings or a list of token ids", name);
  std::vector<PromptInput> prompts;
  if (v.front().is_number_integer()) return {token_ids(v, name)};
  for (const json& p : v) {
    if (p.is_string())
      prompts.emplace_back(p.get<std::string>());
    else if (p.is_array())
      prompts.emplace_back(token_ids(p, name));
    else
      reject(name, "'{}' must be a string, a list of strings or a list of token ids", name);
  }
  return prompts;
}

void reject_if(bool unsupported, const char* name) {
  if (unsupported) reject_unsupported(name);
}

// Fields of the OpenAI API that are not implemented yet: a clear 400 instead of a silent no-op. Tools
// are for chat only.
void check_unsupported(const json& body, bool chat = false) {
  if (!chat) {
    if (const json* v = field(body, "tools")) reject_if(!(v->is_array() && v->empty()), "tools");
    if (const json* v = field(body, "tool_choice")) reject_if(!(v->is_string() && *v == "none"), "tool_choice");
  }
  reject_if(field(body, "functions") != nullptr, "functions");
  reject_if(field(body, "function_call") != nullptr, "function_call");
  reject_if(get_bool(body, "echo").value_or(false), "echo");
  reject_if(get_int(body, "best_of", 1, 128).value_or(1) > 1, "best_of");
  reject_if(field(body, "suffix") != nullptr, "suffix");
  if (const json* v = field(body, "logit_bias")) reject_if(!(v->is_object() && v->empty()), "logit_bias");
}

std::string string_at(const json& object, const char* key, const std::string& param, bool required);

// OpenAI's rule for a response format's name: 1 to 64 of a-z, A-Z, 0-9, '_' and '-'.
bool valid_format_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

// response_format: {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema":
// {"name", "schema"?, "strict"?, "description"?}} (no schema: any JSON value). The grammar is compiled
// here, once per request; every error names the field at fault.
std::shared_ptr<const JsonGrammar> parse_response_format(const json& body) {
  const json* v = field(body, "response_format");
  if (!v) return nullptr;
  if (!v->is_object()) reject("response_format", "'response_format' must be an object");
  auto type = v->find("type");
  if (type == v->end() || !type->is_string() || (*type != "text" && *type != "json_object" && *type != "json_schema"))
    reject("response_format.type", "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
  for (const auto& [key, value] : v->items())
    if (key != "type" && !(key == "json_schema" && *type == "json_schema"))
      reject("response_format." + key, "'response_format.{}' is not a field of a {} response format", key,
             type->get<std::string>());
  if (*type == "text") return nullptr;
  if (*type == "json_object") return json_object_grammar();
  const json* spec = field(*v, "json_schema");
  const std::string at = "response_format.json_schema";
  if (!spec) reject(at, "'{}' is required with type \"json_schema\"", at);
  if (!spec->is_object()) reject(at, "'{}' must be an object", at);
  for (const auto& [key, value] : spec->items())
    if (key != "name" && key != "schema" && key != "strict" && key != "description")
      reject(at + "." + key, "'{}.{}' is not a field of json_schema (name, schema, strict, description)", at, key);
  const std::string name = string_at(*spec, "name", at + ".name", true);
  if (!valid_format_name(name))
    reject(at + ".name", "'{}.name' must be 1 to 64 letters, digits, '_' or '-' (got \"{}\")", at, name);
  string_at(*spec, "description", at + ".description", false);
  // strict true and false behave alike: the output always follows the schema.
  if (const json* strict = field(*spec, "strict"); strict && !strict->is_boolean())
    reject(at + ".strict", "'{}.strict' must be a boolean", at);
  const json* schema = field(*spec, "schema");
  if (!schema) return compile_json_schema("{}");
  if (!schema->is_object()) reject(at + ".schema", "'{}.schema' must be a JSON Schema object", at);
  try {
    return compile_json_schema(schema->dump());
  } catch (const JsonSchemaError& e) {
    const std::string param = e.path().empty() ? at + ".schema" : at + ".schema." + e.path();
    reject(param, "'{}': {}", param, e.reason());
  }
}

SamplingFields parse_sampling(const json& body) {
  SamplingFields s;
  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  for (const char* name : {"max_tokens", "max_completion_tokens", "request_output_len"})
    if (auto x = get_int(body, name, 1, kMaxInt)) s.max_new_tokens = int(*x);
  s.temperature = get_number(body, "temperature", 0.0, 2.0);
  s.top_p = get_number(body, "top_p", 0.0, 1.0);
  if (s.top_p && *s.top_p <= 0.0f) reject("top_p", "'top_p' must be greater than 0");
  if (auto k = get_int(body, "top_k", -1, kMaxInt)) s.top_k = int(std::max<int64_t>(*k, 0));  // -1 = off (vLLM)
  s.min_p = get_number(body, "min_p", 0.0, 1.0);
  s.repetition_penalty = get_number(body, "repetition_penalty", 0.0, 100.0);
  if (s.repetition_penalty && *s.repetition_penalty <= 0.0f)
    reject("repetition_penalty", "'repetition_penalty' must be greater than 0");
  if (const json* v = field(body, "seed")) {
    if (!v->is_number_integer()) reject("seed", "'seed' must be an integer");
    s.seed = v->is_number_unsigned() ? v->get<uint64_t>() : uint64_t(v->get<int64_t>());
  }
  if (const json* v = field(body, "stop")) {
    if (v->is_string()) {
      s.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      for (const json& x : *v) {
        if (!x.is_string()) reject("stop", "'stop' must be a string or a list of strings");
        s.stop.push_back(x.get<std::string>());
      }
    } else {
      reject("stop", "'stop' must be a string or a list of strings");
    }
    for (const auto& stop : s.stop)
      if (stop.empty()) reject("stop", "'stop' strings must not be empty");
  }
  constexpr double kPenalty = kMaxPresenceFrequencyPenalty;
  s.presence_penalty = get_number(body, "presence_penalty", -kPenalty, kPenalty);
  s.frequency_penalty = get_number(body, "frequency_penalty", -kPenalty, kPenalty);
  s.include_stop_str_in_output = get_bool(body, "include_stop_str_in_output").value_or(false);
  s.tokens_as_ids = get_bool(body, "return_tokens_as_token_ids").value_or(false);
  s.ignore_eos = get_bool(body, "ignore_eos").value_or(false);
  s.skip_special_tokens = get_bool(body, "skip_special_tokens").value_or(true);
  get_string(body, "user");  // accepted for the API's sake; only its type is checked
  return s;
}

void parse_stream_options(const json& body, bool& stream, bool& include_usage) {
  stream = get_bool(body, "stream").value_or(false);
  if (const json* opts = field(body, "stream_options")) {
    if (!opts->is_object()) reject("stream_options", "'stream_options' must be an object");
    if (!stream) reject("stream_options", "'stream_options' is only allowed with stream: true");
    include_usage = get_bool(*opts, "include_usage").value_or(false);
  }
}

// A message's content: a string or a list of text parts (joined), null for an assistant turn.
std::string message_content(const json& message, size_t index, const std::string& role) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    if (role == "assistant") return "";
    reject(param, "'{}' is missing", param);
  }
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) reject(param, "'{}' must be a string or a list of content parts", param);
  std::string text;
  for (const json& part : *it) {
    if (!part.is_object() || !part.contains("type")) reject(param, "'{}' holds a part without a type", param);
    if (part["type"] != "text") reject_unsupported(param + " of type " + part["type"].dump());
    if (!part.contains("text") || !part["text"].is_string()) reject(param, "'{}': a text part needs 'text'", param);
    text += part["text"].get<std::string>();
  }
  return text;
}

void check_object(const json& body) {
  if (!body.is_object()) reject("", "the request body must be a JSON object");
}

std::string string_at(const json& object, const char* key, const std::string& param, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) reject(param, "'{}' is missing", param);
    return "";
  }
  if (!it->is_string()) reject(param, "'{}' must be a string", param);
  return it->get<std::string>();
}

// An assistant's tool calls as the templates read them: Qwen's print `arguments | tojson`, so arguments
// sent as a JSON string holding an object become that object (as vLLM does).
json message_tool_calls(const json& calls, const std::string& param) {
  if (!calls.is_array()) reject(param, "'{}' must be a list", param);
  json out = json::array();
  for (size_t j = 0; j < calls.size(); ++j) {
    const json& call = calls[j];
    const std::string at = param + "[" + std::to_string(j) + "]";
    if (!call.is_object()) reject(at, "'{}' must be an object", at);
    if (const std::string type = string_at(call, "type", at + ".type", false); !type.empty() && type != "function")
      reject(at + ".type", "'{}.type' must be \"function\"", at);
    auto function = call.find("function");
    if (function == call.end() || !function->is_object())
      reject(at + ".function", "'{}.function' must be an object", at);
    const std::string name = string_at(*function, "name", at + ".function.name", true);
    json arguments = json::object();
    if (auto a = function->find("arguments"); a != function->end() && !a->is_null()) {
      if (a->is_string()) {
        json parsed = json::parse(a->get<std::string>(), nullptr, false);
        arguments = parsed.is_object() ? std::move(parsed) : *a;
      } else if (a->is_object()) {
        arguments = *a;
      } else {
        reject(at + ".function.arguments", "'{}.function.arguments' must be a string or an object", at);
      }
    }
    json entry = json::object();
    if (auto id = call.find("id"); id != call.end() && !id->is_null())
      entry["id"] = string_at(call, "id", at + ".id", true);
    entry["type"] = "function";
    entry["function"] = {{"name", name}, {"arguments", std::move(arguments)}};
    out.push_back(std::move(entry));
  }
  return out;
}

json chat_message(const json& m, size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) reject(param, "'{}' must be an object", param);
  auto role = m.find("role");
  if (role == m.end() || !role->is_string()) reject(param + ".role", "'{}.role' must be a string", param);
  const std::string role_name = role->get<std::string>();
  json out = {{"role", role_name}, {"content", message_content(m, index, role_name)}};
  if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
    if (role_name != "assistant") reject(param + ".tool_calls", "only an assistant message has 'tool_calls'");
    out["tool_calls"] = message_tool_calls(*calls, param + ".tool_calls");
  }
  if (role_name == "assistant") {
    // Qwen3's templates put a reasoning_content given back into the history's think block.
    const std::string reasoning = string_at(m, "reasoning_content", param + ".reasoning_content", false);
    if (!reasoning.empty()) out["reasoning_content"] = reasoning;
  }
  if (role_name == "tool") {
    const std::string id = string_at(m, "tool_call_id", param + ".tool_call_id", false);
    if (!id.empty()) out["tool_call_id"] = id;
  }
  if (m.contains("name")) {
    const std::string name = string_at(m, "name", param + ".name", false);
    if (!name.empty()) out["name"] = name;
  }
  return out;
}

// OpenAI's function tools: [{"type": "function", "function": {"name", "description"?, "parameters"?}}].
json parse_tools(const json& tools) {
  if (!tools.is_array()) reject("tools", "'tools' must be a list of function tools");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object()) reject(at, "'{}' must be an object", at);
    if (string_at(tool, "type", at + ".type", true) != "function")
      reject(at + ".type", "'{}.type' must be \"function\"", at);
    auto function = tool.find("function");
    if (function == tool.end() || !function->is_object())
      reject(at + ".function", "'{}.function' must be an object", at);
    if (string_at(*function, "name", at + ".function.name", true).empty())
      reject(at + ".function.name", "'{}.function.name' must not be empty", at);
    string_at(*function, "description", at + ".function.description", false);
    if (auto p = function->find("parameters"); p != function->end() && !p->is_null() && !p->is_object())
      reject(at + ".function.parameters", "'{}.function.parameters' must be an object", at);
  }
  return tools;
}

void parse_tool_choice(const json& body, ChatRequest& r) {
  const bool has_tools = r.tools.is_array() && !r.tools.empty();
  r.tool_choice = has_tools ? ToolChoice::Auto : ToolChoice::None;
  const json* v = field(body, "tool_choice");
  if (!v) return;
  if (v->is_string()) {
    const std::string choice = v->get<std::string>();
    if (choice == "none")
      r.tool_choice = ToolChoice::None;
    else if (choice == "auto")
      r.tool_choice = has_tools ? ToolChoice::Auto : ToolChoice::None;
    else if (choice == "required")
      r.tool_choice = ToolChoice::Required;
    else
      reject("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or a function");
  } else if (v->is_object()) {
    if (v->value("type", json()) != "function") reject("tool_choice", "'tool_choice.type' must be \"function\"");
    auto function = v->find("function");
    if (function == v->end() || !function->is_object())
      reject("tool_choice", "'tool_choice.function' must be an object");
    r.tool_choice_name = string_at(*function, "name", "tool_choice", true);
    r.tool_choice = ToolChoice::Function;
    bool declared = false;
    for (const json& tool : r.tools.is_array() ? r.tools : json::array())
      declared = declared || tool["function"]["name"] == r.tool_choice_name;
    if (!declared)
      reject("tool_choice", "'tool_choice' names '{}', which 'tools' does not declare", r.tool_choice_name);
  } else {
    reject("tool_choice", "'tool_choice' must be a string or an object");
  }
  if (r.tool_choice == ToolChoice::Required && !has_tools)
    reject("tool_choice", "'tool_choice' \"required\" needs 'tools'");
}

}  // namespace

json parse_json_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    // nlohmann names invalid UTF-8 in its message ("ill-formed UTF-8 byte"), which is kept.
    throw ApiError(400, "invalid_request_error", "", "invalid_json", std::string("malformed JSON: ") + e.what());
  }
}

namespace {

// The fields completions and chat completions share.
template <typename Request>
void parse_shared_fields(const json& body, Request& r) {
  r.sampling = parse_sampling(body);
  r.n = int(get_int(body, "n", 1, 128).value_or(1));
  parse_stream_options(body, r.stream, r.include_usage);
  r.return_token_ids = get_bool(body, "return_token_ids").value_or(false);
  r.session_id = get_name(body, "session_id");
  r.sampling.guided = parse_response_format(body);
}

}  // namespace

CompletionRequest parse_completion_request(const json& body) {
  check_object(body);
  check_unsupported(body);
  CompletionRequest r;
  r.model = get_string(body, "model");
  const json* prompt = field(body, "prompt");
  if (!prompt) reject("prompt", "'prompt' is required");
  r.prompts = parse_prompts(*prompt, "prompt");
  parse_shared_fields(body, r);
  // The legacy API's logprobs is the number of alternatives per token (OpenAI allows up to 5).
  if (auto n = get_int(body, "logprobs", 0, kMaxCompletionLogprobs)) {
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = int(*n);
  }
  if (field(body, "top_logprobs"))
    reject("top_logprobs", "'top_logprobs' is a chat field; completions take 'logprobs': N");
  return r;
}

ChatRequest parse_chat_request(const json& body) {
  check_object(body);
  check_unsupported(body, true);
  ChatRequest r;
  r.model = get_string(body, "model");
  const json* messages = field(body, "messages");
  if (!messages) reject("messages", "'messages' is required");
  if (!messages->is_array()) reject("messages", "'messages' must be a list");
  if (messages->empty()) reject("messages", "'messages' must not be empty");
  r.messages = json::array();
  for (size_t i = 0; i < messages->size(); ++i) r.messages.push_back(chat_message((*messages)[i], i));
  if (const json* tools = field(body, "tools")) r.tools = parse_tools(*tools);
  parse_tool_choice(body, r);
  if (const json* kwargs = field(body, "chat_template_kwargs")) {
    if (!kwargs->is_object()) reject("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    r.template_vars = *kwargs;
  } else {
    r.template_vars = json::object();
  }
  parse_shared_fields(body, r);
  if (r.sampling.guided && (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Function))
    reject("response_format", "a JSON 'response_format' cannot be combined with a 'tool_choice' that forces a call");
  r.sampling.logprobs = get_bool(body, "logprobs").value_or(false);
  if (auto n = get_int(body, "top_logprobs", 0, kMaxTopLogprobs)) {
    if (*n > 0 && !r.sampling.logprobs) reject("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r.sampling.top_logprobs = int(*n);
  }
  return r;
}

GenerateRequest parse_generate_request(const json& body) {
  check_object(body);
  check_unsupported(body);
  if (field(body, "top_logprobs"))
    reject("top_logprobs", "'top_logprobs' is a chat field; /generate takes 'logprobs': N");
  GenerateRequest r;
  const json* prompt = field(body, "prompt");
  const json* input_ids = field(body, "input_ids");
  if (prompt && input_ids) reject("input_ids", "give either 'prompt' or 'input_ids', not both");
  if (prompt) {
    if (prompt->is_string())
      r.prompt = prompt->get<std::string>();
    else if (prompt->is_array())
      r.prompt = token_ids(*prompt, "prompt");
    else
      reject("prompt", "'prompt' must be a string or a list of token ids");
  } else if (input_ids) {
    if (!input_ids->is_array()) reject("input_ids", "'input_ids' must be a list of token ids");
    r.prompt = token_ids(*input_ids, "input_ids");
  }
  if (auto id = get_int(body, "session_id", -1, std::numeric_limits<int64_t>::max()); id && *id >= 0)
    r.session_id = uint64_t(*id);
  r.end_session = get_bool(body, "end_session").value_or(false);
  if (!r.prompt && !r.end_session) reject("prompt", "'prompt' or 'input_ids' is required");
  if (!r.prompt && !r.session_id) reject("session_id", "'end_session' without a prompt needs a 'session_id'");
  r.sampling = parse_sampling(body);
  r.sampling.guided = parse_response_format(body);  // this call's output; a session's history is free text
  // LMDeploy's logprobs: the number of alternatives per token, each token's as {id: logprob}.
  if (auto n = get_int(body, "logprobs", 0, kMaxTopLogprobs)) {
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = int(*n);
  }
  r.stream = get_bool(body, "stream").value_or(false);
  return r;
}

EncodeRequest parse_encode_request(const json& body) {
  check_object(body);
  EncodeRequest r;
  const json* input = field(body, "input");
  if (!input) reject("input", "'input' is required");
  if (input->is_string()) {
    r.inputs.push_back(input->get<std::string>());
  } else if (input->is_array()) {
    for (const json& x : *input) {
      if (!x.is_string()) reject("input", "'input' must be a string or a list of strings");
      r.inputs.push_back(x.get<std::string>());
    }
  } else {
    reject("input", "'input' must be a string or a list of strings");
  }
  r.add_bos = get_bool(body, "add_bos").value_or(true);
  return r;
}

SamplingParams apply_sampling(const SamplingFields& f, SamplingParams p) {
  p = apply_overrides(f, std::move(p));
  p.include_stop_str_in_output = f.include_stop_str_in_output;
  p.logprobs = f.logprobs;
  p.top_logprobs = f.top_logprobs;
  p.stop.insert(p.stop.end(), f.stop.begin(), f.stop.end());  // the server's --stop strings apply to every request
  p.ignore_eos = p.ignore_eos || f.ignore_eos;
  p.guided = f.guided;
  return p;
}

}  // namespace turbine::server
