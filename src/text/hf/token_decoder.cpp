#include "text/hf/token_decoder.h"

#include <optional>

#include "text/hf/byte_level_alphabet.h"
#include "text/hf/json_fields.h"
#include "text/hf/pcre_regex.h"
#include "core/utf8.h"

namespace turbine::hf {
namespace {

class SequenceDecoder final : public TokenDecoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<TokenDecoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }
  void to_token_bytes(std::string& token) const override {
    for (const auto& step : steps_) step->to_token_bytes(token);
  }

 private:
  std::vector<std::unique_ptr<TokenDecoder>> steps_;
};

// Maps each token's characters back to bytes (tokens with a character outside the alphabet, such
// as added tokens, keep their UTF-8 bytes) and joins them, repairing invalid UTF-8 with U+FFFD.
class ByteLevelDecoder final : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    std::string token_bytes;
    for (const std::string& token : tokens) {
      token_bytes.clear();
      bool mapped = true;
      size_t pos = 0;
      while (pos < token.size()) {
        const int byte = alphabet_.decode(next_code_point(token, pos));
        if (byte < 0) {
          mapped = false;
          break;
        }
        token_bytes.push_back(static_cast<char>(byte));
      }
      bytes += mapped ? token_bytes : token;
    }
    tokens.assign(1, is_valid_utf8(bytes) ? std::move(bytes) : to_valid_utf8(bytes));
  }
  void to_token_bytes(std::string& token) const override {
    std::string bytes;
    for (size_t pos = 0; pos < token.size();) {
      const int byte = alphabet_.decode(next_code_point(token, pos));
      if (byte < 0) return;  // not of the alphabet (an added token): its UTF-8 bytes stand
      bytes.push_back(static_cast<char>(byte));
    }
    token = std::move(bytes);
  }

 private:
  ByteLevelAlphabet alphabet_;
};

class ReplaceDecoder final : public TokenDecoder {
 public:
  ReplaceDecoder(PcreRegex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      std::string out;
      size_t last = 0;
      for (const TextSpan& span : pattern_.find_all(token)) {
        out.append(token, last, span.begin - last);
        out += content_;
        last = span.end;
      }
      if (last == 0) continue;
      out.append(token, last, std::string::npos);
      token = std::move(out);
    }
  }
  void to_token_bytes(std::string& token) const override {
    std::vector<std::string> one{std::move(token)};
    decode_chain(one);
    token = std::move(one[0]);
  }

 private:
  PcreRegex pattern_;
  std::string content_;
};

// "<0xAB>" tokens become raw bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per byte.
class ByteFallbackDecoder final : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (const auto byte = parse_byte_token(token)) {
        pending.push_back(static_cast<char>(*byte));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }
  void to_token_bytes(std::string& token) const override {
    if (const auto byte = parse_byte_token(token)) token.assign(1, static_cast<char>(*byte));
  }

 private:
  static std::optional<unsigned char> parse_byte_token(const std::string& token) {
    if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(token[3]), lo = hex(token[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
};

class FuseDecoder final : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
  void to_token_bytes(std::string&) const override {}
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder final : public TokenDecoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (content_.empty()) return;
    for (std::string& token : tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0 && begin < end; ++i)
        begin += content_.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i)
        end -= content_.size();
      token = token.substr(begin, end - begin);
    }
  }
  // Strip acts on the text's ends (after Fuse), never on a token in the middle.
  void to_token_bytes(std::string&) const override {}

 private:
  std::string content_;
  size_t start_, stop_;
};

// Replacement character -> space; in the first token (when a prefix is prepended) it is dropped.
class MetaspaceDecoder final : public TokenDecoder {
 public:
  MetaspaceDecoder(std::string replacement, bool drop_in_first)
      : replacement_(std::move(replacement)), drop_in_first_(drop_in_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = with_spaces(tokens[i], i == 0 && drop_in_first_ ? "" : " ");
  }
  void to_token_bytes(std::string& token) const override { token = with_spaces(token, " "); }

 private:
  // The token with each replacement character written as `space` (" ", or "" where it is dropped).
  std::string with_spaces(const std::string& token, std::string_view space) const {
    std::string out;
    for (size_t pos = 0; pos < token.size();) {
      if (token.compare(pos, replacement_.size(), replacement_) == 0) {
        out += space;
        pos += replacement_.size();
      } else {
        out.push_back(token[pos++]);
      }
    }
    return out;
  }

  std::string replacement_;
  bool drop_in_first_;
};

size_t optional_count(const json& spec, const char* key, const std::string& where) {
  auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return 0;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    fail("{}.{}: expected a non-negative integer", where, key);
  return it->get<size_t>();
}

}  // namespace

std::unique_ptr<TokenDecoder> make_token_decoder(const json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  const std::string type = require_string(spec, "type", where);
  if (type == "Sequence") {
    const json& list = require_field(spec, "decoders", where);
    if (!list.is_array()) fail("{}.decoders: expected an array", where);
    std::vector<std::unique_ptr<TokenDecoder>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_token_decoder(list[i], fmt::format("{}.decoders[{}]", where, i));
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(
        pattern_from_json(require_field(spec, "pattern", where), where + ".pattern"),
        require_string(spec, "content", where));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(require_string(spec, "content", where), optional_count(spec, "start", where),
                                          optional_count(spec, "stop", where));
  if (type == "Metaspace") {
    const std::string scheme = optional_string(spec, "prepend_scheme", where);
    bool prepends = scheme.empty() ? optional_bool(spec, "add_prefix_space", true, where) : scheme != "never";
    return std::make_unique<MetaspaceDecoder>(require_string(spec, "replacement", where), prepends);
  }
  fail(
      "{}.type: unsupported decoder \"{}\" (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, "
      "Strip, Metaspace)",
      where, type);
}

}  // namespace turbine::hf
