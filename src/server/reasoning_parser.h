// Splits a reasoning model's reply into reasoning_content and content, piece by piece as the text
// streams in (the non-streaming answer feeds the whole reply through the same parser).
//
// qwen3 and deepseek-r1: the text between `<think>` and `</think>` is reasoning, the rest content
// (whitespace after `</think>` is dropped). A reply that does not open with `<think>` starts inside
// the reasoning when the prompt opened it (Qwen3's templates with enable_thinking, DeepSeek-R1's put
// `<think>` at the end of the prompt) and then only has `</think>`; deepseek-r1 always starts there.
// A reply that ends before `</think>` is all reasoning.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/reply_delta.h"

namespace turbine::server {

enum class ReasoningFormat { Qwen3, DeepSeekR1 };

// The names of --reasoning-parser.
const std::vector<std::pair<std::string, ReasoningFormat>>& reasoning_format_names();

// True when the rendered prompt ends with the opening tag (trailing whitespace aside).
bool prompt_opens_reasoning(std::string_view prompt);

class ReasoningParser {
 public:
  ReasoningParser(ReasoningFormat format, bool prompt_opened_reasoning);

  // The reasoning and content that `text` completes (tool_calls stay empty).
  ReplyDelta feed(std::string_view text);
  // The end of the reply: what was held back goes out.
  ReplyDelta finish();

 private:
  void scan(bool at_end, ReplyDelta& out);

  enum class State { Start, Reasoning, ContentStart, Content };

  State state_ = State::Start;
  bool starts_in_reasoning_;  // where a reply without `<think>` begins
  std::string buffer_;
};

}  // namespace turbine::server
