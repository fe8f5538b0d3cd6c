#include "model/hf/pre_tokenizer.h"

#include <optional>

#include "model/hf/byte_level_alphabet.h"
#include "model/hf/json_fields.h"
#include "model/hf/pcre_regex.h"
#include "model/hf/split_behavior.h"

namespace turbine::hf {
namespace {

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Replaces every word by its pieces under `regex` + `behavior`; only a piece at offset 0 of a
// word that began the input keeps `at_start`.
void split_words(std::vector<Word>& words, const PcreRegex& regex, SplitBehavior behavior, bool invert) {
  std::vector<Word> out;
  out.reserve(words.size() * 2);
  for (Word& word : words) {
    const auto pieces = split_by_matches(regex.find_all(word.text), word.text.size(), behavior, invert);
    if (pieces.size() == 1 && pieces[0].begin == 0 && pieces[0].end == word.text.size()) {
      out.push_back(std::move(word));
      continue;
    }
    for (const TextSpan& piece : pieces)
      out.push_back({word.text.substr(piece.begin, piece.end - piece.begin), word.at_start && piece.begin == 0});
  }
  words = std::move(out);
}

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::vector<Word>& words) const override {
    for (const auto& step : steps_) step->split(words);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class RegexSplitPreTokenizer final : public PreTokenizer {
 public:
  RegexSplitPreTokenizer(PcreRegex regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<Word>& words) const override { split_words(words, regex_, behavior_, invert_); }

 private:
  PcreRegex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<PcreRegex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void split(std::vector<Word>& words) const override {
    if (add_prefix_space_) {
      for (Word& word : words)
        if (!word.text.empty() && word.text[0] != ' ') word.text.insert(0, " ");
    }
    if (regex_) split_words(words, *regex_, SplitBehavior::Isolated, false);
    for (Word& word : words) {
      std::string mapped;
      mapped.reserve(word.text.size() * 2);
      for (char c : word.text) mapped += alphabet_.encode(static_cast<unsigned char>(c));
      word.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<PcreRegex> regex_;
  ByteLevelAlphabet alphabet_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split, const std::string& where)
      : replacement_(std::move(replacement)),
        scheme_(scheme),
        split_(split),
        separator_(PcreRegex::literal(replacement_, where)) {}
  void split(std::vector<Word>& words) const override {
    for (Word& word : words) {
      std::string replaced;
      replaced.reserve(word.text.size() + replacement_.size());
      for (char c : word.text) {
        if (c == ' ') {
          replaced += replacement_;
        } else {
          replaced.push_back(c);
        }
      }
      const bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && word.at_start)))
        replaced.insert(0, replacement_);
      word.text = std::move(replaced);
    }
    if (split_) split_words(words, separator_, SplitBehavior::MergedWithNext, false);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  PcreRegex separator_;
};

std::unique_ptr<PreTokenizer> regex_splitter(const char* pattern, SplitBehavior behavior, bool invert,
                                             const std::string& where) {
  return std::make_unique<RegexSplitPreTokenizer>(PcreRegex(pattern, where), behavior, invert);
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  const std::string type = require_string(spec, "type", where);
  if (type == "Sequence") {
    const json& list = require_field(spec, "pretokenizers", where);
    if (!list.is_array()) fail("{}.pretokenizers: expected an array", where);
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_pre_tokenizer(list[i], fmt::format("{}.pretokenizers[{}]", where, i));
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    PcreRegex regex = pattern_from_json(require_field(spec, "pattern", where), where + ".pattern");
    const auto behavior = parse_split_behavior(require_string(spec, "behavior", where), where + ".behavior");
    return std::make_unique<RegexSplitPreTokenizer>(std::move(regex), behavior,
                                                    optional_bool(spec, "invert", false, where));
  }
  if (type == "ByteLevel") {
    std::optional<PcreRegex> regex;
    if (optional_bool(spec, "use_regex", true, where)) regex.emplace(kGpt2Pattern, where);
    return std::make_unique<ByteLevelPreTokenizer>(optional_bool(spec, "add_prefix_space", true, where),
                                                   std::move(regex));
  }
  if (type == "Metaspace") {
    const std::string replacement = require_string(spec, "replacement", where);
    PrependScheme scheme = PrependScheme::Always;
    const std::string scheme_name = optional_string(spec, "prepend_scheme", where);
    if (scheme_name == "first") {
      scheme = PrependScheme::First;
    } else if (scheme_name == "never") {
      scheme = PrependScheme::Never;
    } else if (!scheme_name.empty() && scheme_name != "always") {
      fail("{}.prepend_scheme: unknown value \"{}\" (always, first, never)", where, scheme_name);
    }
    if (scheme_name.empty() && !optional_bool(spec, "add_prefix_space", true, where)) scheme = PrependScheme::Never;
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, optional_bool(spec, "split", true, where),
                                                   where + ".replacement");
  }
  if (type == "Whitespace") return regex_splitter(R"(\w+|[^\w\s]+)", SplitBehavior::Removed, true, where);
  if (type == "WhitespaceSplit") return regex_splitter(R"(\s)", SplitBehavior::Removed, false, where);
  if (type == "Digits") {
    const bool individual = optional_bool(spec, "individual_digits", false, where);
    return regex_splitter(R"(\p{N})", individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false,
                          where);
  }
  if (type == "Punctuation") {
    const std::string behavior = optional_string(spec, "behavior", where);
    return regex_splitter(R"([\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])",
                          behavior.empty() ? SplitBehavior::Isolated : parse_split_behavior(behavior, where),
                          false, where);
  }
  fail("{}.type: unsupported pre_tokenizer \"{}\" (supported: Sequence, Split, ByteLevel, Metaspace, "
       "Whitespace, WhitespaceSplit, Digits, Punctuation)",
       where, type);
}

}  // namespace turbine::hf
