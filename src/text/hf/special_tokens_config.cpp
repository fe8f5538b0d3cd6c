#include "text/hf/special_tokens_config.h"

#include "text/hf/json_fields.h"

namespace turbine::hf {
namespace {

// The first special token of a TemplateProcessing "single" template, when it starts with one.
std::optional<std::string> template_leading_special(const json& processor) {
  if (!processor.is_object()) return std::nullopt;
  const auto type = processor.value("type", std::string());
  if (type == "Sequence") {
    for (const json& step : processor.value("processors", json::array()))
      if (auto found = template_leading_special(step)) return found;
    return std::nullopt;
  }
  if (type != "TemplateProcessing") return std::nullopt;
  const json single = processor.value("single", json::array());
  if (!single.is_array() || single.empty()) return std::nullopt;
  const json& first = single[0];
  if (!first.is_object() || !first.contains("SpecialToken")) return std::nullopt;
  const json& special = first["SpecialToken"];
  if (!special.is_object() || !special.contains("id") || !special["id"].is_string()) return std::nullopt;
  // The template names a key of "special_tokens"; its "tokens" hold the token text.
  const std::string key = special["id"].get<std::string>();
  if (auto map = processor.find("special_tokens"); map != processor.end() && map->contains(key)) {
    const json& entry = (*map)[key];
    if (entry.contains("tokens") && entry["tokens"].is_array() && entry["tokens"].size() == 1 &&
        entry["tokens"][0].is_string())
      return entry["tokens"][0].get<std::string>();
  }
  return key;
}

}  // namespace

SpecialTokensConfig special_tokens_config(const TokenizerConfig& config, const json& tokenizer_json) {
  SpecialTokensConfig result;
  result.bos_token = config.bos_token.value_or("");
  result.eos_token = config.eos_token.value_or("");
  const json processor = tokenizer_json.value("post_processor", json());
  const auto leading = template_leading_special(processor);
  result.add_bos = config.add_bos_token.value_or(leading.has_value());
  if (result.bos_token.empty() && leading) result.bos_token = *leading;
  return result;
}

}  // namespace turbine::hf
