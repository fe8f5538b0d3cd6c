#include "text/hf/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "text/hf/json_fields.h"
#include "text/hf/pcre_regex.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::hf {
namespace {

bool is_ascii(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// NFC / NFD / NFKC / NFKD through utf8proc. ASCII is invariant under all four.
class UnicodeFormNormalizer final : public Normalizer {
 public:
  explicit UnicodeFormNormalizer(utf8proc_option_t options) : options_(options) {}
  void normalize(std::string& text) const override {
    if (text.empty() || is_ascii(text)) return;
    utf8proc_uint8_t* mapped = nullptr;
    const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                     static_cast<utf8proc_ssize_t>(text.size()), &mapped, options_);
    if (length < 0) return;  // only on invalid UTF-8, which encode() has already repaired
    text.assign(reinterpret_cast<char*>(mapped), static_cast<size_t>(length));
    std::free(mapped);
  }

 private:
  utf8proc_option_t options_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (is_ascii(text)) {
      for (char& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      return;
    }
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
      const char32_t cp = next_code_point(text, pos);
      if (cp == 0x130) {  // İ lowercases to two code points (Rust's full mapping)
        out += "i\xCC\x87";
        continue;
      }
      append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    text = std::move(out);
  }
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Replace with a literal pattern is the common case (" " -> "▁"); it skips the regex engine.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::optional<std::string> literal, std::optional<PcreRegex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    std::string out;
    size_t last = 0;
    if (literal_) {
      if (literal_->empty()) return;
      for (size_t at = text.find(*literal_); at != std::string::npos; at = text.find(*literal_, last)) {
        out.append(text, last, at - last);
        out += content_;
        last = at + literal_->size();
      }
    } else {
      for (const TextSpan& span : regex_->find_all(text)) {
        out.append(text, last, span.begin - last);
        out += content_;
        last = span.end;
      }
    }
    if (last == 0) return;
    out.append(text, last, std::string::npos);
    text = std::move(out);
  }

 private:
  std::optional<std::string> literal_;
  std::optional<PcreRegex> regex_;
  std::string content_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t next = begin;
        if (!is_unicode_whitespace(next_code_point(text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t next = start;
        if (!is_unicode_whitespace(next_code_point(text, next))) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (is_ascii(text)) return;
    std::string out;
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t start = pos;
      if (!is_combining_mark(next_code_point(text, pos))) out.append(text, start, pos - start);
    }
    text = std::move(out);
  }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  const std::string type = require_string(spec, "type", where);
  if (type == "Sequence") {
    const json& list = require_field(spec, "normalizers", where);
    if (!list.is_array()) fail("{}.normalizers: expected an array", where);
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_normalizer(list[i], fmt::format("{}.normalizers[{}]", where, i));
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  const auto stable = UTF8PROC_STABLE;
  if (type == "NFC") return std::make_unique<UnicodeFormNormalizer>(utf8proc_option_t(stable | UTF8PROC_COMPOSE));
  if (type == "NFD") return std::make_unique<UnicodeFormNormalizer>(utf8proc_option_t(stable | UTF8PROC_DECOMPOSE));
  if (type == "NFKC")
    return std::make_unique<UnicodeFormNormalizer>(utf8proc_option_t(stable | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (type == "NFKD")
    return std::make_unique<UnicodeFormNormalizer>(utf8proc_option_t(stable | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(require_string(spec, "prepend", where));
  if (type == "Replace") {
    const json& pattern = require_field(spec, "pattern", where);
    std::string content = require_string(spec, "content", where);
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
      return std::make_unique<ReplaceNormalizer>(pattern["String"].get<std::string>(), std::nullopt,
                                                 std::move(content));
    return std::make_unique<ReplaceNormalizer>(std::nullopt, pattern_from_json(pattern, where + ".pattern"),
                                               std::move(content));
  }
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(optional_bool(spec, "strip_left", true, where),
                                             optional_bool(spec, "strip_right", true, where));
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  fail(
      "{}.type: unsupported normalizer \"{}\" (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, "
      "Prepend, Replace, Strip, StripAccents)",
      where, type);
}

}  // namespace turbine::hf
