#include "engine/text_stream.h"

#include <algorithm>

#include "core/error.h"
#include "core/utf8.h"

namespace turbine {

namespace {

// Tokens of prompt context decoded with each new token: enough for the space and merge rules
// of the tokenizers we know (vLLM uses 5 as well).
constexpr size_t kPromptContext = 5;
// A character cut short by byte-fallback tokens waits at most this many tokens; past that the
// bytes are really invalid and are shown as decode shows them.
constexpr size_t kMaxPendingTokens = 8;

bool ends_with_replacement(const std::string& s) { return s.ends_with(kReplacementChar); }

}  // namespace

TextStream::TextStream(const Tokenizer& tokenizer, std::span<const int32_t> prompt_ids, const SamplingParams& params)
    : tokenizer_(tokenizer),
      params_(params),
      ids_(prompt_ids.begin(), prompt_ids.end()),
      prompt_len_(prompt_ids.size()) {
  std::erase_if(params_.stop, [](const std::string& s) { return s.empty(); });
  read_offset_ = prompt_len_;
  prefix_offset_ = prompt_len_ > kPromptContext ? prompt_len_ - kPromptContext : 0;
  prefix_text_ = tokenizer_.decode(std::span(ids_).subspan(prefix_offset_, read_offset_ - prefix_offset_));
  // Start the window outside any byte-fallback run of the prompt (its text would not be settled).
  while (prefix_offset_ > 0 && prefix_text_.starts_with(kReplacementChar) && prompt_len_ - prefix_offset_ < 32) {
    --prefix_offset_;
    prefix_text_ = tokenizer_.decode(std::span(ids_).subspan(prefix_offset_, read_offset_ - prefix_offset_));
  }
}

void TextStream::read_new_text(bool force) {
  if (read_offset_ == ids_.size()) return;
  const std::string new_text = tokenizer_.decode(std::span(ids_).subspan(prefix_offset_));
  const bool settled = !ends_with_replacement(new_text) || ids_.size() - read_offset_ >= kMaxPendingTokens;
  if (!settled && !force) return;  // a character is still cut short: wait for its other bytes
  if (new_text.starts_with(prefix_text_)) {
    text_ += new_text.substr(prefix_text_.size());
  } else {
    // The window's text changed under it (a tokenizer with context-dependent spacing): fall back
    // to the definition, decode(prompt+generated) minus decode(prompt).
    const std::string prompt_text = tokenizer_.decode(std::span(ids_).first(prompt_len_));
    const std::string full = tokenizer_.decode(ids_);
    if (full.starts_with(prompt_text)) {
      std::string all = full.substr(prompt_text.size());
      if (all.starts_with(text_)) text_ = std::move(all);
    }
  }
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  prefix_text_ = tokenizer_.decode(std::span(ids_).subspan(prefix_offset_, read_offset_ - prefix_offset_));
}

std::string TextStream::take_text(size_t end) {
  end = std::max(end, emitted_);
  std::string out = text_.substr(emitted_, end - emitted_);
  emitted_ = end;
  return out;
}

StreamStep TextStream::push(int32_t id) {
  if (finished_) fail("TextStream: token pushed after generation ended");
  StreamStep step;
  const bool stop_id =
      !params_.ignore_eos && std::find(params_.stop_ids.begin(), params_.stop_ids.end(), id) != params_.stop_ids.end();
  if (stop_id) {
    step.emit_id = false;
    step.finished = true;
    step.reason = FinishReason::Stop;
    step.text = flush();
    return step;
  }
  ids_.push_back(id);
  generated_.push_back(id);
  read_new_text(false);

  // A complete stop string ends generation; the text before it is the last output.
  size_t stop_at = std::string::npos, stop_end = 0;
  for (const auto& stop : params_.stop) {
    const size_t at = text_.find(stop, emitted_);
    if (at < stop_at) stop_at = at, stop_end = at + stop.size();
  }
  if (stop_at != std::string::npos) {
    // The stop string is shown only when asked; nothing after it ever is.
    const size_t end = params_.include_stop_str_in_output ? stop_end : stop_at;
    step.text = take_text(end);
    text_.resize(end);
    step.finished = finished_ = true;
    step.reason = FinishReason::Stop;
    return step;
  }
  if (params_.max_new_tokens && generated_.size() >= size_t(*params_.max_new_tokens)) {
    step.text = flush();
    step.finished = true;
    step.reason = FinishReason::Length;
    return step;
  }
  // Hold back the longest tail that could still grow into a stop string.
  size_t hold = 0;
  const std::string_view pending = std::string_view(text_).substr(emitted_);
  for (const auto& stop : params_.stop) {
    for (size_t n = std::min(stop.size() - 1, pending.size()); n > hold; --n) {
      if (pending.substr(pending.size() - n) == std::string_view(stop).substr(0, n)) {
        hold = n;
        break;
      }
    }
  }
  step.text = take_text(text_.size() - hold);
  return step;
}

std::string TextStream::flush() {
  if (!finished_) read_new_text(true);
  finished_ = true;
  return take_text(text_.size());
}

}  // namespace turbine
