// BOS/EOS settings of a tokenizer.json folder: tokenizer_config.json (bos_token / eos_token as a
// string or an AddedToken object, add_bos_token) with tokenizer.json's TemplateProcessing
// post_processor as the fallback for whether prompts start with BOS.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace turbine::hf {

struct SpecialTokensConfig {
  std::string bos_token, eos_token;  // empty when not set
  bool add_bos = false;
};

// `tokenizer_json` is the parsed tokenizer.json (for its post_processor); `dir` holds the optional
// tokenizer_config.json. Throws Error naming the file and field when a value has the wrong type.
SpecialTokensConfig read_special_tokens_config(const std::filesystem::path& dir, const nlohmann::json& tokenizer_json);

}  // namespace turbine::hf
