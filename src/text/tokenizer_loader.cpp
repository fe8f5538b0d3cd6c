// load_tokenizer: picks the tokenizer implementation of a folder and fills in its special-token
// settings from tokenizer_config.json (see docs/tokenizers.md for the rules).
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/regular_file.h"
#include "text/hf_tokenizer.h"
#include "text/spm_tokenizer.h"
#include "text/tokenizer.h"

namespace turbine {

namespace {

// bos_token / eos_token may be a string, an AddedToken dict {"content": ...}, or null.
std::optional<std::string> token_string(const nlohmann::json& config, const char* field,
                                        const std::filesystem::path& path) {
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  fail("{}: field \"{}\" must be a string or an object with a string \"content\"", path.string(), field);
}

// Sets `id`/`text` from the config's token string when the vocabulary knows it.
void apply_token(const Tokenizer& tok, const std::optional<std::string>& text, std::optional<int32_t>& id,
                 std::string& token_text) {
  if (!text) return;
  if (auto found = tok.token_to_id(*text)) {
    id = *found;
    token_text = *text;
  }
}

void apply_tokenizer_config(Tokenizer& tok, const std::filesystem::path& dir) {
  const auto path = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(path)) return;
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path.string());
  nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_discarded() || !config.is_object()) fail("{}: not valid JSON", path.string());

  apply_token(tok, token_string(config, "bos_token", path), tok.bos_id, tok.bos_token);
  apply_token(tok, token_string(config, "eos_token", path), tok.eos_id, tok.eos_token);
  if (auto it = config.find("add_bos_token"); it != config.end() && !it->is_null()) {
    if (!it->is_boolean()) fail("{}: field \"add_bos_token\" must be true or false", path.string());
    tok.add_bos = it->get<bool>();
  }
}

std::unique_ptr<Tokenizer> load_spm(const std::filesystem::path& dir) {
  auto tok = SpmTokenizer::load(dir);
  // The model's own defaults (Llama's LlamaTokenizer adds BOS unless told otherwise).
  for (int32_t id = 0; id < tok->vocab_size(); ++id) {
    const std::string piece = tok->id_to_token(id);
    if (piece == "<s>" && !tok->bos_id) tok->bos_id = id, tok->bos_token = piece;
    if (piece == "</s>" && !tok->eos_id) tok->eos_id = id, tok->eos_token = piece;
    if (tok->bos_id && tok->eos_id) break;
  }
  tok->add_bos = true;
  return tok;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail("{}: no such folder", dir.string());
  std::unique_ptr<Tokenizer> tok;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    tok = load_hf_tokenizer(dir);
  } else if (std::filesystem::exists(dir / "tokenizer.model")) {
    tok = load_spm(dir);
  } else {
    fail("{}: no tokenizer.json or tokenizer.model in this folder", dir.string());
  }
  apply_tokenizer_config(*tok, dir);
  return tok;
}

}  // namespace turbine
