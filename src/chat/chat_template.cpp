// Chat templates rendered the way transformers' apply_chat_template does: the template sees
// messages, tools, documents (None), add_generation_prompt, the special tokens and extra variables,
// with globals raise_exception, strftime_now, range, namespace and dict.
#include "chat/chat_template.h"

#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/regular_file.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/evaluator.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"

namespace turbine {

using jinja::KeywordArgs;
using jinja::Value;
using jinja::ValueList;

struct ChatTemplate::Impl {
  std::string source;
  jinja::SourceMap map;
  jinja::Body body;
  explicit Impl(std::string src) : source(std::move(src)), map(source) {}
};

namespace {

// jinja2's sandboxed range(): at most 100000 items.
constexpr int64_t kMaxRange = 100000;

Value range_function(const ValueList& args, const KeywordArgs& kwargs) {
  if (!kwargs.items.empty()) fail("range() got an unexpected keyword argument '{}'", kwargs.items.front().first);
  if (args.empty() || args.size() > 3) fail("range expected 1 to 3 arguments, got {}", args.size());
  for (const auto& a : args)
    if (!a.is_int() && !a.is_bool()) fail("'{}' object cannot be interpreted as an integer", a.type_name());
  int64_t start = 0, stop, step = 1;
  if (args.size() == 1) {
    stop = args[0].as_int();
  } else {
    start = args[0].as_int();
    stop = args[1].as_int();
    if (args.size() == 3) step = args[2].as_int();
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange)
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
    out.emplace_back(i);
  }
  return Value::list(std::move(out));
}

Value mapping_from_args(const ValueList& args, const KeywordArgs& kwargs, const char* what) {
  jinja::ValueDict d;
  for (const auto& a : args) {
    if (!a.is_dict()) fail("{}() positional argument must be a mapping", what);
    for (const auto& [k, v] : a.as_dict().items) d.set(k, v);
  }
  for (const auto& [k, v] : kwargs.items) d.set(k, v);
  return Value::dict(std::move(d));
}

std::shared_ptr<jinja::Scope> make_globals(const ChatTemplateInput& input) {
  auto g = std::make_shared<jinja::Scope>();
  auto& v = g->vars;
  v["range"] = Value::function("range", range_function);
  v["namespace"] = Value::function("namespace", [](const ValueList& args, const KeywordArgs& kwargs) {
    Value m = mapping_from_args(args, kwargs, "namespace");
    return Value::namespace_object(m.as_dict());
  });
  v["dict"] = Value::function(
      "dict", [](const ValueList& args, const KeywordArgs& kwargs) { return mapping_from_args(args, kwargs, "dict"); });
  v["raise_exception"] = Value::function("raise_exception", [](const ValueList& args, const KeywordArgs&) -> Value {
    throw jinja::RaisedError(args.empty() ? std::string() : args[0].str());
  });
  v["strftime_now"] = Value::function("strftime_now", [](const ValueList& args, const KeywordArgs&) {
    if (args.empty() || !args[0].is_string()) fail("strftime_now() needs a format string");
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[512];
    size_t n = std::strftime(buf, sizeof buf, args[0].as_string().c_str(), &local);
    return Value(std::string(buf, n));
  });
  v["messages"] = Value::from_json(input.messages);
  v["tools"] = input.tools.is_null() ? Value::none() : Value::from_json(input.tools);
  v["documents"] = Value::none();
  v["add_generation_prompt"] = Value(input.add_generation_prompt);
  // transformers passes only the special tokens that are set.
  if (!input.bos_token.empty()) v["bos_token"] = Value(input.bos_token);
  if (!input.eos_token.empty()) v["eos_token"] = Value(input.eos_token);
  if (input.extra_vars.is_object())
    for (auto it = input.extra_vars.begin(); it != input.extra_vars.end(); ++it)
      v[it.key()] = Value::from_json(it.value());
  return g;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source)
    : impl_(std::make_unique<Impl>(jinja::normalize_template_source(source))) {
  impl_->body = jinja::parse_template(jinja::tokenize_template(impl_->source), impl_->map);
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const ChatTemplateInput& input) const {
  jinja::Evaluator evaluator(impl_->map, input.limits);
  try {
    return evaluator.render(impl_->body, make_globals(input));
  } catch (const jinja::RaisedError& e) {
    throw Error(e.what());
  }
}

ChatTemplate read_chat_template_file(const std::filesystem::path& file) {
  require_regular_file(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open", file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return ChatTemplate(ss.str());
  } catch (const Error& e) {
    fail("{}: {}", file.string(), e.what());
  }
}

ChatTemplate load_chat_template(const std::filesystem::path& dir, const TokenizerConfig& config) {
  if (config.chat_template) return ChatTemplate(*config.chat_template);
  const auto jinja_path = dir / "chat_template.jinja";
  std::error_code ec;
  if (std::filesystem::exists(jinja_path, ec)) return read_chat_template_file(jinja_path);
  fail("{}: no chat template (tokenizer_config.json has no chat_template and there is no chat_template.jinja)",
       dir.string());
}

ChatTemplate load_chat_template(const std::filesystem::path& dir) {
  return load_chat_template(dir, read_tokenizer_config(dir));
}

ChatTemplateInput chat_template_input(const TokenizerConfig& config) {
  ChatTemplateInput input;
  input.bos_token = config.bos_token.value_or("");
  input.eos_token = config.eos_token.value_or("");
  const std::pair<const char*, const std::optional<std::string>*> others[] = {{"unk_token", &config.unk_token},
                                                                              {"pad_token", &config.pad_token},
                                                                              {"sep_token", &config.sep_token},
                                                                              {"cls_token", &config.cls_token},
                                                                              {"mask_token", &config.mask_token}};
  for (const auto& [name, value] : others)
    if (*value && !(*value)->empty()) input.extra_vars[name] = **value;
  if (!config.additional_special_tokens.empty())
    input.extra_vars["additional_special_tokens"] = config.additional_special_tokens;
  return input;
}

}  // namespace turbine
