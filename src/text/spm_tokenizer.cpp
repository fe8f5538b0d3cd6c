#include "text/spm_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "core/regular_file.h"
#include "core/utf8.h"

namespace turbine {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary

// "<0xAB>" -> 0xAB (SentencePiece byte-fallback pieces).
int byte_piece_value(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  return std::stoi(piece.substr(3, 2), nullptr, 16);
}

// A piece's text: its word-boundary marks as spaces.
void append_piece_text(std::string& out, std::string_view piece) {
  for (size_t i = 0; i < piece.size();) {
    if (piece.substr(i).starts_with(kSpaceMark)) {
      out.push_back(' ');
      i += kSpaceMark.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
}

}  // namespace

SpmTokenizer::SpmTokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
SpmTokenizer::~SpmTokenizer() = default;

std::unique_ptr<SpmTokenizer> SpmTokenizer::load(const std::filesystem::path& dir, const TokenizerConfig& config) {
  const auto model_path = dir / "tokenizer.model";
  require_regular_file(model_path);
  std::unique_ptr<SpmTokenizer> tok(new SpmTokenizer());
  auto status = tok->sp_->Load(model_path.string());
  if (!status.ok()) fail("{}: cannot load SentencePiece model: {}", model_path.string(), status.ToString());

  tok->vocab_size_ = tok->sp_->GetPieceSize();
  // SentencePiece's own control (<s>, </s>) and unknown (<unk>) pieces are written out verbatim.
  for (int id = 0; id < tok->vocab_size_; ++id) {
    if (tok->sp_->IsControl(id) || tok->sp_->IsUnknown(id)) tok->add_token(id, tok->sp_->IdToPiece(id), false, false);
  }

  // Added tokens of tokenizer_config.json (e.g. "<pad>" at 32000, or chat markers).
  for (const ConfigAddedToken& t : config.added_tokens_decoder) tok->add_token(t.id, t.content, t.lstrip, t.rstrip);
  std::vector<const hf::AddedToken*> tokens;
  std::vector<std::string> patterns;
  for (const hf::AddedToken& t : tok->added_) {
    tokens.push_back(&t);
    patterns.push_back(t.content);
  }
  tok->matcher_ = std::make_unique<hf::AddedTokenMatcher>(tokens, patterns);

  // Whether the model prepends a dummy "▁" (Llama's does): then a run's first space is not text.
  std::vector<int> probe;
  tok->sp_->Encode("a", &probe);
  tok->strip_leading_space_ = !probe.empty() && tok->sp_->IdToPiece(probe[0]).starts_with(kSpaceMark);
  return tok;
}

void SpmTokenizer::add_token(int32_t id, std::string content, bool lstrip, bool rstrip) {
  if (content.empty()) return;
  hf::AddedToken token;
  token.id = id;
  token.content = std::move(content);
  token.lstrip = lstrip;
  token.rstrip = rstrip;
  token.normalized = false;
  token.decode_text = token.content;
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
    added_[it->second] = std::move(token);
    return;
  }
  vocab_size_ = std::max(vocab_size_, id + 1);
  added_by_id_[id] = added_.size();
  added_.push_back(std::move(token));
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  auto encode_piece = [&](std::string_view piece) {
    if (piece.empty()) return;
    std::vector<int> piece_ids;
    auto status = sp_->Encode(piece, &piece_ids);
    if (!status.ok()) fail("SentencePiece could not encode the text: {}", status.ToString());
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  };
  for (const hf::TextSegment& segment : matcher_->split(text)) {
    if (segment.token) {
      ids.push_back(*segment.token);
    } else {
      encode_piece(text.substr(segment.begin, segment.end - segment.begin));
    }
  }
  return ids;
}

std::string SpmTokenizer::decode_run(std::span<const int32_t> ids) const {
  std::string out;
  std::string bytes;       // pending byte-fallback bytes
  size_t byte_tokens = 0;  // how many tokens made them
  auto flush_bytes = [&] {
    if (byte_tokens == 0) return;
    if (is_valid_utf8(bytes)) {
      out += bytes;
    } else {
      for (size_t i = 0; i < byte_tokens; ++i) out += kReplacementChar;
    }
    bytes.clear();
    byte_tokens = 0;
  };
  for (int32_t id : ids) {
    const std::string& piece = sp_->IdToPiece(id);
    if (sp_->IsByte(id)) {
      int value = byte_piece_value(piece);
      if (value >= 0) {
        bytes.push_back(char(value));
        ++byte_tokens;
        continue;
      }
    }
    flush_bytes();
    append_piece_text(out, piece);
  }
  flush_bytes();
  if (strip_leading_space_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string SpmTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  size_t run_start = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size_) fail("token id {} is out of range (vocabulary size {})", id, vocab_size_);
    auto it = added_by_id_.find(id);
    if (it == added_by_id_.end()) {
      if (id >= sp_->GetPieceSize()) fail("token id {} has no piece in tokenizer.model", id);
      continue;
    }
    // Added tokens bypass the decoder; the runs around them are decoded on their own.
    out += decode_run(ids.subspan(run_start, i - run_start));
    out += added_[it->second].content;
    run_start = i + 1;
  }
  out += decode_run(ids.subspan(run_start));
  return out;
}

int32_t SpmTokenizer::vocab_size() const { return vocab_size_; }

std::optional<int32_t> SpmTokenizer::token_to_id(std::string_view token) const {
  for (const auto& added : added_)
    if (added.content == token) return added.id;
  int id = sp_->PieceToId(token);
  // PieceToId answers unk for unknown strings; only the real "<unk>" string maps to it.
  if (id < 0 || (sp_->IsUnknown(id) && sp_->IdToPiece(id) != token)) return std::nullopt;
  return id;
}

std::string SpmTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size_) fail("token id {} is out of range (vocabulary size {})", id, vocab_size_);
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  if (id >= sp_->GetPieceSize()) fail("token id {} has no piece in tokenizer.model", id);
  return sp_->IdToPiece(id);
}

std::string SpmTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size_) fail("token id {} is out of range (vocabulary size {})", id, vocab_size_);
  if (added_by_id_.contains(id) || id >= sp_->GetPieceSize()) return {};
  const std::string& piece = sp_->IdToPiece(id);
  if (sp_->IsByte(id)) {
    const int value = byte_piece_value(piece);
    return value >= 0 ? std::string(1, char(value)) : std::string();
  }
  std::string out;
  append_piece_text(out, piece);
  return out;
}

}  // namespace turbine
