#include "server/reasoning_parser.h"

namespace turbine::server {

namespace {

const std::string kOpen = "<think>";
const std::string kClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t skip_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

}  // namespace

const std::vector<std::pair<std::string, ReasoningFormat>>& reasoning_format_names() {
  static const std::vector<std::pair<std::string, ReasoningFormat>> names = {
      {"qwen3", ReasoningFormat::Qwen3}, {"deepseek-r1", ReasoningFormat::DeepSeekR1}};
  return names;
}

bool prompt_opens_reasoning(std::string_view prompt) {
  size_t end = prompt.size();
  while (end > 0 && is_space(prompt[end - 1])) --end;
  return prompt.substr(0, end).ends_with(kOpen);
}

ReasoningParser::ReasoningParser(ReasoningFormat format, bool prompt_opened_reasoning)
    : starts_in_reasoning_(prompt_opened_reasoning || format == ReasoningFormat::DeepSeekR1) {}

ReplyDelta ReasoningParser::feed(std::string_view text) {
  ReplyDelta out;
  buffer_ += text;
  scan(false, out);
  return out;
}

ReplyDelta ReasoningParser::finish() {
  ReplyDelta out;
  scan(true, out);
  return out;
}

void ReasoningParser::scan(bool at_end, ReplyDelta& out) {
  while (true) {
    switch (state_) {
      case State::Start: {
        // Leading whitespace and a possible start of `<think>` wait until the opening is decided.
        const size_t start = skip_space(buffer_);
        const std::string_view rest = std::string_view(buffer_).substr(start);
        if (rest.substr(0, kOpen.size()) == kOpen) {
          buffer_.erase(0, start + kOpen.size());
          state_ = State::Reasoning;
          continue;
        }
        if (!at_end && rest.size() < kOpen.size() && kOpen.compare(0, rest.size(), rest) == 0) return;
        state_ = starts_in_reasoning_ ? State::Reasoning : State::Content;
        continue;
      }
      case State::Reasoning: {
        const size_t close = buffer_.find(kClose);
        if (close == std::string::npos) {
          const size_t ready = buffer_.size() - (at_end ? 0 : partial_marker_length(buffer_, kClose));
          out.reasoning.append(buffer_, 0, ready);
          buffer_.erase(0, ready);
          return;
        }
        out.reasoning.append(buffer_, 0, close);
        buffer_.erase(0, close + kClose.size());
        state_ = State::ContentStart;
        continue;
      }
      case State::ContentStart: {
        buffer_.erase(0, skip_space(buffer_));
        if (buffer_.empty()) return;
        state_ = State::Content;
        continue;
      }
      case State::Content:
        out.content += buffer_;
        buffer_.clear();
        return;
    }
  }
}

}  // namespace turbine::server
