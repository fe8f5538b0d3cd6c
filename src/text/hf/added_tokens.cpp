#include "text/hf/added_tokens.h"

#include <algorithm>

#include "text/hf/json_fields.h"
#include "text/hf/normalizer.h"
#include "core/unicode.h"
#include "core/utf8.h"

#include <utf8proc.h>

namespace turbine::hf {
namespace {

// Rust regex's \w: letters, marks, decimal digits, connector punctuation (and join controls).
bool is_word_char(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC: return true;
    default: return false;
  }
}

// Start of the code point that ends just before `end`.
size_t previous_char_start(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

bool ends_with_word_char(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t pos = previous_char_start(text, end);
  return is_word_char(next_code_point(text, pos));
}

bool starts_with_word_char(std::string_view text, size_t begin) {
  if (begin >= text.size()) return false;
  return is_word_char(next_code_point(text, begin));
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<const AddedToken*>& tokens,
                                     const std::vector<std::string>& patterns)
    : tokens_(tokens) {
  nodes_.emplace_back();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& pattern = patterns[i];
    if (pattern.empty()) continue;
    first_byte_[static_cast<unsigned char>(pattern[0])] = true;
    int32_t node = 0;
    for (unsigned char c : pattern) {
      auto it = nodes_[node].children.find(c);
      if (it == nodes_[node].children.end()) {
        nodes_.emplace_back();
        const auto child = static_cast<int32_t>(nodes_.size() - 1);
        nodes_[node].children[c] = child;
        node = child;
      } else {
        node = it->second;
      }
    }
    // The first of duplicate patterns wins, as in aho-corasick's pattern order.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(i);
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t& length) const {
  int32_t found = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = nodes_[node].children.find(static_cast<unsigned char>(text[i]));
    if (it == nodes_[node].children.end()) break;
    node = it->second;
    if (nodes_[node].token >= 0) {
      found = nodes_[node].token;
      length = i + 1 - pos;
    }
  }
  return found;
}

std::vector<TextSegment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<TextSegment> segments;
  size_t covered = 0;  // end of the last emitted segment
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int32_t index = longest_at(text, pos, length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = *tokens_[index];
    size_t begin = pos, end = pos + length;
    pos = end;  // matches never overlap, even a rejected one (aho-corasick's find_iter)
    if (token.single_word && (ends_with_word_char(text, begin) || starts_with_word_char(text, end))) continue;
    if (token.lstrip) {
      size_t start = begin;
      while (start > covered) {
        size_t prev = previous_char_start(text, start);
        size_t probe = prev;
        if (!is_unicode_whitespace(next_code_point(text, probe))) break;
        start = prev;
      }
      begin = start;
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t probe = end;
        if (!is_unicode_whitespace(next_code_point(text, probe))) break;
        end = probe;
      }
    }
    if (covered < begin) segments.push_back({covered, begin, std::nullopt});
    segments.push_back({begin, end, token.id});
    covered = end;
    pos = std::max(pos, end);
  }
  if (covered < text.size()) segments.push_back({covered, text.size(), std::nullopt});
  return segments;
}

AddedVocabulary::AddedVocabulary(const json& list, const Normalizer* normalizer,
                                 FunctionRef<std::optional<int32_t>(std::string_view)> model_id,
                                 int32_t model_vocab_count, const std::string& where) {
  int32_t next_id = model_vocab_count;
  StringMap<size_t> index_of;  // content -> position in tokens_
  if (!list.is_null() && !list.is_array()) fail("{}: expected an array", where);
  if (list.is_array()) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = fmt::format("{}[{}]", where, i);
      const json& entry = list[i];
      if (const json& id = require_field(entry, "id", at); !id.is_number_integer() || id.get<int64_t>() < 0)
        fail("{}.id: expected a non-negative integer", at);
      AddedToken token;
      token.content = require_string(entry, "content", at);
      token.single_word = optional_bool(entry, "single_word", false, at);
      token.lstrip = optional_bool(entry, "lstrip", false, at);
      token.rstrip = optional_bool(entry, "rstrip", false, at);
      token.special = optional_bool(entry, "special", false, at);
      token.normalized = optional_bool(entry, "normalized", !token.special, at);
      if (token.content.empty()) continue;  // HF ignores empty added tokens
      if (!is_valid_utf8(token.content)) fail("{}.content: not valid UTF-8", at);
      // A repeated content updates the earlier entry's flags and keeps its id.
      if (auto same = index_of.find(token.content); same != index_of.end()) {
        token.id = tokens_[same->second].id;
        tokens_[same->second] = std::move(token);
        continue;
      }
      index_of.emplace(token.content, tokens_.size());
      if (const auto in_model = model_id(token.content)) {
        token.id = *in_model;
      } else {
        token.id = next_id++;
      }
      tokens_.push_back(std::move(token));
    }
  }
  std::vector<const AddedToken*> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  // HF matches special tokens before plain added ones when contents collide.
  std::stable_partition(tokens_.begin(), tokens_.end(), [](const AddedToken& t) { return t.special; });
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    by_id_[token.id] = i;
    by_content_.try_emplace(token.content, token.id);
    if (token.normalized) {
      std::string pattern = token.content;
      if (normalizer) normalizer->normalize(pattern);
      tokens_[i].decode_text = pattern;
      normalized.push_back(&token);
      normalized_patterns.push_back(std::move(pattern));
    } else {
      tokens_[i].decode_text = token.content;
      raw.push_back(&token);
      raw_patterns.push_back(token.content);
    }
  }
  raw_ = std::make_unique<AddedTokenMatcher>(raw, raw_patterns);
  normalized_ = std::make_unique<AddedTokenMatcher>(normalized, normalized_patterns);
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

int32_t AddedVocabulary::max_id() const {
  int32_t max = -1;
  for (const AddedToken& token : tokens_) max = std::max(max, token.id);
  return max;
}

}  // namespace turbine::hf
