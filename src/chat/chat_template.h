// Chat templates: the Jinja subset that real models' tokenizer_config.json templates use,
// rendered the way transformers does (trim_blocks, lstrip_blocks, loop controls,
// raise_exception, its own tojson).
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja/render_limits.h"
#include "text/tokenizer_config.h"

namespace turbine {

// Steps, output bytes and call depth one render may take (a template is untrusted input).
using ChatTemplateLimits = jinja::RenderLimits;

// ordered_json: templates see dict keys in the order the JSON has them (tojson of a tool keeps its order).
struct ChatTemplateInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{"role": ..., "content": ...}, ...]
  nlohmann::ordered_json tools;                                       // null or an array of tool definitions
  bool add_generation_prompt = true;
  nlohmann::ordered_json extra_vars = nlohmann::ordered_json::object();  // e.g. {"enable_thinking": false}
  std::string bos_token, eos_token;
  ChatTemplateLimits limits;
};

class ChatTemplate {
 public:
  // Parses the template; throws Error("chat template line L, column C: ...") on a syntax error or
  // an unsupported construct.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders; a template's raise_exception(msg) throws Error(msg) with exactly its message. A render that
  // goes past input.limits (or builds one value past jinja::kMaxValueBytes) throws Error naming the limit.
  std::string render(const ChatTemplateInput& input) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Jinja template file (--chat-template, chat_template.jinja); Error names the file when it cannot
// be read or parsed.
ChatTemplate read_chat_template_file(const std::filesystem::path& file);

// The template of a model or tokenizer folder: tokenizer_config.json's chat_template (a string,
// or a list of {name, template} where "default" is used), else chat_template.jinja.
// Throws Error when the folder has none.
ChatTemplate load_chat_template(const std::filesystem::path& dir, const TokenizerConfig& config);
// The same, reading the folder's tokenizer_config.json itself.
ChatTemplate load_chat_template(const std::filesystem::path& dir);

// The template's input with the tokenizer's special tokens filled in, as transformers hands them to
// every template: bos_token and eos_token, and unk/pad/sep/cls/mask_token and
// additional_special_tokens where the config sets them. Every caller (template, chat, the server)
// starts from this, so one template always sees the same variables.
ChatTemplateInput chat_template_input(const TokenizerConfig& config);

}  // namespace turbine
