// tokenizer_config.json, read once per folder: the special tokens (which the tokenizer uses for
// BOS/EOS and the chat template receives as variables), whether prompts start with BOS, the added
// tokens a SentencePiece folder declares there, and the chat template source.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace turbine {

struct ConfigAddedToken {
  int32_t id = 0;
  std::string content;
  bool lstrip = false, rstrip = false;
};

struct TokenizerConfig {
  std::filesystem::path path;  // the file read; empty when the folder has none
  // Each a plain string or an AddedToken object {"content": ...} in the file; absent when unset or null.
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token, sep_token, cls_token, mask_token;
  std::vector<std::string> additional_special_tokens;
  std::optional<bool> add_bos_token;
  std::vector<ConfigAddedToken> added_tokens_decoder;  // in id order
  // "chat_template": a string, or a list of {name, template} (kept by name; "default" is the one used).
  std::optional<std::string> chat_template;
  std::map<std::string, std::string> named_chat_templates;
};

// Reads <dir>/tokenizer_config.json (absent: an empty config). Throws Error naming the file and field
// for malformed JSON or a field of the wrong type.
TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir);

}  // namespace turbine
