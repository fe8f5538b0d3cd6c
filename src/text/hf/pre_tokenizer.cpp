#include "text/hf/pre_tokenizer.h"

#include <optional>
#include <vector>

#include "text/hf/byte_level_alphabet.h"
#include "text/hf/json_fields.h"
#include "text/hf/pcre_regex.h"
#include "text/hf/split_behavior.h"

namespace turbine::hf {
namespace {

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Emits the pieces of `word` under `regex` + `behavior`; only a piece at offset 0 of a word that
// began the input keeps `at_start`.
void split_word(WordView word, const PcreRegex& regex, SplitBehavior behavior, bool invert, WordSink emit) {
  split_text(regex, word.text, behavior, invert, [&](TextSpan piece) {
    emit({word.text.substr(piece.begin, piece.end - piece.begin), word.at_start && piece.begin == 0});
  });
}

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(WordView word, WordSink emit) const override { split_from(0, word, emit); }

 private:
  // Depth first: each word of step i goes through steps i+1.. before the next word of step i.
  void split_from(size_t step, WordView word, WordSink emit) const {
    if (step == steps_.size()) {
      emit(word);
      return;
    }
    steps_[step]->split(word, [&](WordView piece) { split_from(step + 1, piece, emit); });
  }
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class RegexSplitPreTokenizer final : public PreTokenizer {
 public:
  RegexSplitPreTokenizer(PcreRegex regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void split(WordView word, WordSink emit) const override { split_word(word, regex_, behavior_, invert_, emit); }

 private:
  PcreRegex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Optionally prefixes a space, optionally splits with GPT-2's pattern, then rewrites every byte as
// its printable stand-in character.
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<PcreRegex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void split(WordView word, WordSink emit) const override {
    std::string prefixed;
    if (add_prefix_space_ && !word.text.empty() && word.text[0] != ' ') {
      prefixed.reserve(word.text.size() + 1);
      prefixed.push_back(' ');
      prefixed += word.text;
      word.text = prefixed;
    }
    std::string mapped;
    auto map_and_emit = [&](WordView piece) {
      mapped.clear();
      for (char c : piece.text) mapped += alphabet_.encode(static_cast<unsigned char>(c));
      emit({mapped, piece.at_start});
    };
    if (regex_) {
      split_word(word, *regex_, SplitBehavior::Isolated, false, map_and_emit);
    } else if (!word.text.empty()) {
      map_and_emit(word);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<PcreRegex> regex_;
  ByteLevelAlphabet alphabet_;
};

enum class PrependScheme { Always, First, Never };

// Spaces become the replacement character ("▁"), which is prepended per the scheme; words then
// start at each replacement character.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split, const std::string& where)
      : replacement_(std::move(replacement)),
        scheme_(scheme),
        split_(split),
        separator_(PcreRegex::literal(replacement_, where)) {}
  void split(WordView word, WordSink emit) const override {
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
    if (!starts && !replaced.empty() &&
        (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && word.at_start)))
      replaced.insert(0, replacement_);
    const WordView whole{replaced, word.at_start};
    if (split_) {
      split_word(whole, separator_, SplitBehavior::MergedWithNext, false, emit);
    } else if (!replaced.empty()) {
      emit(whole);
    }
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
    return regex_splitter(R"(\p{N})", individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false, where);
  }
  if (type == "Punctuation") {
    const std::string behavior = optional_string(spec, "behavior", where);
    return regex_splitter(R"([\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])",
                          behavior.empty() ? SplitBehavior::Isolated : parse_split_behavior(behavior, where), false,
                          where);
  }
  fail(
      "{}.type: unsupported pre_tokenizer \"{}\" (supported: Sequence, Split, ByteLevel, Metaspace, "
      "Whitespace, WhitespaceSplit, Digits, Punctuation)",
      where, type);
}

}  // namespace turbine::hf
