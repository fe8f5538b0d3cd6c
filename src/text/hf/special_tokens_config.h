// BOS/EOS settings of a tokenizer.json folder: tokenizer_config.json (bos_token / eos_token as a
// string or an AddedToken object, add_bos_token) with tokenizer.json's TemplateProcessing
// post_processor as the fallback for whether prompts start with BOS.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "text/tokenizer_config.h"

namespace turbine::hf {

struct SpecialTokensConfig {
  std::string bos_token, eos_token;  // empty when not set
  bool add_bos = false;
};

// `config` is the folder's tokenizer_config.json; `tokenizer_json` the parsed tokenizer.json (for its
// post_processor).
SpecialTokensConfig special_tokens_config(const TokenizerConfig& config, const nlohmann::json& tokenizer_json);

}  // namespace turbine::hf
