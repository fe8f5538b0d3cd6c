#include "text/tokenizer_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/regular_file.h"

namespace turbine {
namespace {

using json = nlohmann::json;

// A special token: "<s>", {"content": "<s>", ...} or null (absent).
std::optional<std::string> token_text(const json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  fail("{}: field \"{}\" must be a string or an object with a string \"content\"", where, key);
}

std::vector<ConfigAddedToken> added_tokens(const json& decoder, const std::string& where) {
  std::vector<ConfigAddedToken> tokens;
  if (!decoder.is_object()) return tokens;
  for (const auto& [key, value] : decoder.items()) {
    ConfigAddedToken token;
    size_t used = 0;
    try {
      token.id = std::stoi(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != key.size()) fail("{}: added_tokens_decoder key \"{}\" is not a token id", where, key);
    if (token.id < 0) fail("{}: added_tokens_decoder id {} is negative", where, token.id);
    if (!value.is_object() || !value.contains("content") || !value["content"].is_string())
      fail("{}: added_tokens_decoder[\"{}\"] has no string \"content\"", where, key);
    token.content = value["content"].get<std::string>();
    token.lstrip = value.value("lstrip", false);
    token.rstrip = value.value("rstrip", false);
    tokens.push_back(std::move(token));
  }
  std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return tokens;
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig config;
  const auto path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return config;
  const std::string where = path.string();
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", where);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const json parsed = json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) fail("{}: not valid JSON", where);
  if (!parsed.is_object()) fail("{}: expected a JSON object", where);
  config.path = path;

  config.bos_token = token_text(parsed, "bos_token", where);
  config.eos_token = token_text(parsed, "eos_token", where);
  config.unk_token = token_text(parsed, "unk_token", where);
  config.pad_token = token_text(parsed, "pad_token", where);
  config.sep_token = token_text(parsed, "sep_token", where);
  config.cls_token = token_text(parsed, "cls_token", where);
  config.mask_token = token_text(parsed, "mask_token", where);
  if (auto it = parsed.find("additional_special_tokens"); it != parsed.end() && it->is_array()) {
    for (const json& t : *it) {
      if (t.is_string())
        config.additional_special_tokens.push_back(t.get<std::string>());
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        config.additional_special_tokens.push_back(t["content"].get<std::string>());
    }
  }
  if (auto it = parsed.find("add_bos_token"); it != parsed.end() && !it->is_null()) {
    if (!it->is_boolean()) fail("{}: field \"add_bos_token\" must be true or false", where);
    config.add_bos_token = it->get<bool>();
  }
  config.added_tokens_decoder = added_tokens(parsed.value("added_tokens_decoder", json()), where);
  if (auto it = parsed.find("chat_template"); it != parsed.end() && !it->is_null()) {
    if (it->is_string()) {
      config.chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      for (const json& entry : *it)
        if (entry.is_object() && entry.value("name", json()).is_string() && entry.value("template", json()).is_string())
          config.named_chat_templates[entry["name"].get<std::string>()] = entry["template"].get<std::string>();
      auto def = config.named_chat_templates.find("default");
      if (def == config.named_chat_templates.end()) fail("{}: chat_template has no template named \"default\"", where);
      config.chat_template = def->second;
    } else {
      fail("{}: field \"chat_template\" must be a string or a list of {{name, template}}", where);
    }
  }
  return config;
}

}  // namespace turbine
