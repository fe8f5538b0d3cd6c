#include "chat/chat_end_of_turn.h"

#include <string>

#include "core/error.h"

namespace turbine {

std::optional<int32_t> chat_end_of_turn_token(const ChatTemplate& chat_template, const Tokenizer& tokenizer) {
  const std::string probe = "turbineprobereply";
  ChatTemplateInput in;
  in.messages = nlohmann::ordered_json::array(
      {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", probe}}});
  in.add_generation_prompt = false;
  in.bos_token = tokenizer.bos_token;
  in.eos_token = tokenizer.eos_token;
  std::string rendered;
  try {
    rendered = chat_template.render(in);
  } catch (const Error&) {
    return std::nullopt;
  }
  const size_t at = rendered.find(probe);
  if (at == std::string::npos) return std::nullopt;
  for (int32_t id : tokenizer.encode(rendered.substr(at + probe.size()))) {
    const std::string piece = tokenizer.id_to_token(id);
    if (piece.size() > 2 && piece.front() == '<' && piece.back() == '>') return id;
  }
  return std::nullopt;
}

}  // namespace turbine
