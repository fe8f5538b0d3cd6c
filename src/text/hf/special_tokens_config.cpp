#include "text/hf/special_tokens_config.h"

#include <fstream>

#include "core/regular_file.h"
#include "text/hf/json_fields.h"

namespace turbine::hf {
namespace {

// bos_token / eos_token: "<s>", {"content": "<s>", ...} or null.
std::string token_text(const json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return require_string(*it, "content", fmt::format("{}.{}", where, key));
  fail("{}.{}: expected a string or an object with \"content\"", where, key);
}

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

SpecialTokensConfig read_special_tokens_config(const std::filesystem::path& dir, const json& tokenizer_json) {
  SpecialTokensConfig result;
  std::optional<bool> add_bos;
  const auto config_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const std::string where = config_path.string();
    require_regular_file(config_path);
    std::ifstream in(config_path);
    json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) fail("{}: not valid JSON", where);
    if (!config.is_object()) fail("{}: expected a JSON object", where);
    result.bos_token = token_text(config, "bos_token", where);
    result.eos_token = token_text(config, "eos_token", where);
    if (auto it = config.find("add_bos_token"); it != config.end() && !it->is_null()) {
      if (!it->is_boolean()) fail("{}.add_bos_token: expected true or false", where);
      add_bos = it->get<bool>();
    }
  }
  const json processor = tokenizer_json.value("post_processor", json());
  const auto leading = template_leading_special(processor);
  if (!add_bos) add_bos = leading.has_value();
  if (result.bos_token.empty() && leading) result.bos_token = *leading;
  result.add_bos = *add_bos;
  return result;
}

}  // namespace turbine::hf
