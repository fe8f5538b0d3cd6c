// tokenizer.json "pre_tokenizer": cuts normalized text into words that the model encodes one by
// one (Split with a regex, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence).
// Words stream to a callback, so memory stays flat however long the text is.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "text/hf/function_ref.h"

namespace turbine::hf {

struct WordView {
  std::string_view text;
  // The word begins at offset 0 of the original input (Metaspace prepend_scheme "first").
  bool at_start = false;
};

// Receives each word; the view is valid only during the call.
using WordSink = FunctionRef<void(WordView)>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Emits the words `word` splits into, in order; empty words are never emitted.
  virtual void split(WordView word, WordSink emit) const = 0;
};

// nullptr for a null spec (the whole normalized text is one word).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

}  // namespace turbine::hf
