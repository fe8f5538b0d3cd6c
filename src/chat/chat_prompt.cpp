#include "chat/chat_prompt.h"

#include <algorithm>
#include <optional>
#include <string>

namespace turbine {

namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // what a partial character decodes to

// Whether the decode of `ids` could still grow into a prefix of `rendered`: trailing replacement
// characters are ignored, since a byte-fallback character cut short decodes to them.
bool compatible(const Tokenizer& tok, std::span<const int32_t> ids, std::string_view rendered) {
  std::string text = tok.decode(ids);
  while (text.ends_with(kReplacementChar) && !rendered.starts_with(text))
    text.resize(text.size() - kReplacementChar.size());
  return rendered.starts_with(text);
}

// Whether `ids` spell `rendered`: their decode is the text itself or, for a tokenizer whose decode
// is not an exact inverse (e.g. a normalizer that prepends "▁" to every run while the decoder
// strips only the first), the decode of the whole rendering's encoding.
class SpellCheck {
 public:
  SpellCheck(const Tokenizer& tok, std::string_view rendered) : tok_(tok), rendered_(rendered) {}
  bool operator()(const std::vector<int32_t>& ids) {
    const std::string text = tok_.decode(ids);
    if (text == rendered_) return true;
    if (!canonical_) canonical_ = tok_.decode(tok_.encode(rendered_));
    return text == *canonical_;
  }

 private:
  const Tokenizer& tok_;
  std::string_view rendered_;
  std::optional<std::string> canonical_;
};

std::vector<int32_t> concat(std::span<const int32_t> head, const std::vector<int32_t>& tail) {
  std::vector<int32_t> out(head.begin(), head.end());
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

}  // namespace

ChatPromptIds chat_prompt_ids(const Tokenizer& tok, std::span<const int32_t> history, std::string_view rendered) {
  // Decodes of growing prefixes grow (a token never takes back text), so the longest compatible
  // prefix is found by bisection; then any partial character at its end is dropped.
  size_t lo = 0, hi = history.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo + 1) / 2;
    if (compatible(tok, history.first(mid), rendered))
      lo = mid;
    else
      hi = mid - 1;
  }
  size_t kept = lo;
  std::string kept_text = tok.decode(history.first(kept));
  while (kept > 0 && !rendered.starts_with(kept_text)) kept_text = tok.decode(history.first(--kept));
  const std::span<const int32_t> head = history.first(kept);
  const std::string_view rest = rendered.substr(kept_text.size());
  SpellCheck spells(tok, rendered);

  // The rest on its own: right for a run that starts after a special token (SentencePiece's legacy
  // mode and tokenizer.json pre-tokenizers encode those runs independently anyway).
  if (auto ids = concat(head, tok.encode(rest)); spells(ids)) return {std::move(ids), kept};
  // The rest continues a run: encode it after "\n" (a byte no piece merges across) and drop the
  // anchor's ids, so no word-start mark is prepended to it.
  if (kept > 0) {
    const std::vector<int32_t> anchor = tok.encode("\n");
    std::vector<int32_t> anchored = tok.encode(std::string("\n").append(rest));
    if (anchored.size() >= anchor.size() && std::equal(anchor.begin(), anchor.end(), anchored.begin())) {
      anchored.erase(anchored.begin(), anchored.begin() + ptrdiff_t(anchor.size()));
      if (auto ids = concat(head, anchored); spells(ids)) return {std::move(ids), kept};
    }
  }
  return {tok.encode(rendered), 0};
}

}  // namespace turbine
