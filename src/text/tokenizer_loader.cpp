// load_tokenizer: picks the tokenizer implementation of a folder and fills in its special-token
// settings from tokenizer_config.json (see docs/tokenizers.md for the rules).
#include "core/error.h"
#include "text/hf_tokenizer.h"
#include "text/spm_tokenizer.h"
#include "text/tokenizer.h"

namespace turbine {

namespace {

// Sets `id`/`text` from the config's token string when the vocabulary knows it.
void apply_token(const Tokenizer& tok, const std::optional<std::string>& text, std::optional<int32_t>& id,
                 std::string& token_text) {
  if (!text) return;
  if (auto found = tok.token_to_id(*text)) {
    id = *found;
    token_text = *text;
  }
}

std::unique_ptr<Tokenizer> load_spm(const std::filesystem::path& dir, const TokenizerConfig& config) {
  auto tok = SpmTokenizer::load(dir, config);
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

std::vector<int32_t> Tokenizer::encode_prompt(std::string_view text) const {
  std::vector<int32_t> ids;
  if (add_bos && bos_id) ids.push_back(*bos_id);
  const std::vector<int32_t> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail("{}: no such folder", dir.string());
  TokenizerConfig config = read_tokenizer_config(dir);
  std::unique_ptr<Tokenizer> tok;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    tok = load_hf_tokenizer(dir, config);
  } else if (std::filesystem::exists(dir / "tokenizer.model")) {
    tok = load_spm(dir, config);
  } else {
    fail("{}: no tokenizer.json or tokenizer.model in this folder", dir.string());
  }
  apply_token(*tok, config.bos_token, tok->bos_id, tok->bos_token);
  apply_token(*tok, config.eos_token, tok->eos_id, tok->eos_token);
  if (config.add_bos_token) tok->add_bos = *config.add_bos_token;
  tok->config = std::move(config);
  return tok;
}

}  // namespace turbine
