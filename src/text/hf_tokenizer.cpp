// Tokenizer over a Hugging Face tokenizer.json: added tokens -> normalizer -> pre-tokenizer ->
// BPE -> ids, and ids -> token strings -> decoder -> text, mirroring HF tokenizers' pipeline.
#include "text/hf_tokenizer.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/regular_file.h"
#include "text/hf/added_tokens.h"
#include "text/hf/bpe_model.h"
#include "text/hf/json_fields.h"
#include "text/hf/normalizer.h"
#include "text/hf/pre_tokenizer.h"
#include "text/hf/special_tokens_config.h"
#include "text/hf/token_decoder.h"
#include "core/utf8.h"

namespace turbine {
namespace {

using hf::json;

json parse_tokenizer_json(const std::filesystem::path& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  json parsed = json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) fail("{}: not valid JSON (truncated or corrupt file?)", path.string());
  if (!parsed.is_object()) fail("{}: expected a JSON object at the top level", path.string());
  return parsed;
}

const json& model_spec(const json& spec, const std::string& file) {
  auto it = spec.find("model");
  if (it == spec.end() || it->is_null()) fail("{}: missing field \"model\"", file);
  return *it;
}

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const TokenizerConfig& config, const json& spec, const std::string& file)
      : normalizer_(hf::make_normalizer(spec.value("normalizer", json()), file + ": normalizer")),
        pre_tokenizer_(hf::make_pre_tokenizer(spec.value("pre_tokenizer", json()), file + ": pre_tokenizer")),
        model_(model_spec(spec, file), file + ": model"),
        added_(
            spec.value("added_tokens", json()), normalizer_.get(),
            [this](std::string_view token) { return model_.token_to_id(token); }, model_.vocab_count(),
            file + ": added_tokens"),
        decoder_(hf::make_token_decoder(spec.value("decoder", json()), file + ": decoder")) {
    vocab_size_ = std::max(model_.max_id(), added_.max_id()) + 1;
    const hf::SpecialTokensConfig special = hf::special_tokens_config(config, spec);
    add_bos = special.add_bos;
    bos_token = special.bos_token;
    eos_token = special.eos_token;
    if (!bos_token.empty()) bos_id = token_to_id(bos_token);
    if (!eos_token.empty()) eos_id = token_to_id(eos_token);
    if (add_bos && bos_token.empty()) fail("{}: add_bos_token is true but no bos_token is set", config.path.string());
    if (add_bos && !bos_id)
      fail("{}: prompts start with BOS but the BOS token \"{}\" is not in the vocabulary", file, bos_token);
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    // Invalid UTF-8 is repaired first (U+FFFD per maximal invalid subpart), see docs/tokenizers.md.
    std::string repaired;
    if (!is_valid_utf8(text)) {
      repaired = to_valid_utf8(text);
      text = repaired;
    }
    ids.reserve(text.size() / 3 + 4);
    auto encode_word = [&](hf::WordView word) { model_.encode_word(word.text, ids); };
    for (const hf::TextSegment& segment : added_.raw_matcher().split(text)) {
      if (segment.token) {
        ids.push_back(*segment.token);
        continue;
      }
      std::string normalized(text.substr(segment.begin, segment.end - segment.begin));
      if (normalizer_) normalizer_->normalize(normalized);
      for (const hf::TextSegment& part : added_.normalized_matcher().split(normalized)) {
        if (part.token) {
          ids.push_back(*part.token);
          continue;
        }
        const hf::WordView piece{std::string_view(normalized).substr(part.begin, part.end - part.begin),
                                 segment.begin == 0 && part.begin == 0};
        if (pre_tokenizer_) {
          pre_tokenizer_->split(piece, encode_word);
        } else {
          encode_word(piece);
        }
      }
    }
    return ids;
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      // Ids without a token are skipped, as HF's decode does.
      if (const hf::AddedToken* added = added_.find(id)) {
        tokens.push_back(added->decode_text);
      } else if (const std::string* token = model_.id_to_token(id)) {
        tokens.push_back(*token);
      }
    }
    std::string text;
    if (decoder_) {
      decoder_->decode_chain(tokens);
      for (const std::string& token : tokens) text += token;
    } else {
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (i) text.push_back(' ');
        text += tokens[i];
      }
    }
    return text;
  }

  int32_t vocab_size() const override { return vocab_size_; }

  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (auto id = added_.find(token)) return id;
    return model_.token_to_id(token);
  }

  std::string token_bytes(int32_t id) const override {
    if (added_.find(id)) return {};
    const std::string* token = model_.id_to_token(id);
    if (!token) {
      if (id < 0 || id >= vocab_size_) fail("token id {} is out of range (vocabulary size {})", id, vocab_size_);
      return {};
    }
    std::string bytes = *token;
    if (decoder_) decoder_->to_token_bytes(bytes);
    return bytes;
  }

  std::string id_to_token(int32_t id) const override {
    if (const hf::AddedToken* added = added_.find(id)) return added->content;
    if (const std::string* token = model_.id_to_token(id)) return *token;
    fail("token id {} is out of range (vocabulary size {})", id, vocab_size_);
  }

 private:
  std::unique_ptr<hf::Normalizer> normalizer_;
  std::unique_ptr<hf::PreTokenizer> pre_tokenizer_;
  hf::BpeModel model_;
  hf::AddedVocabulary added_;
  std::unique_ptr<hf::TokenDecoder> decoder_;
  int32_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir, const TokenizerConfig& config) {
  const auto path = dir / "tokenizer.json";
  if (!std::filesystem::exists(path)) fail("{}: no such file", path.string());
  const json spec = parse_tokenizer_json(path);
  return std::make_unique<HfTokenizer>(config, spec, path.string());
}

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir) {
  return load_hf_tokenizer(dir, read_tokenizer_config(dir));
}

}  // namespace turbine
