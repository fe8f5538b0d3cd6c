// The parsers a chat reply goes through: reasoning first (--reasoning-parser), then tool calls in
// the content that is left (--tool-call-parser, when the request declares tools). Streaming feeds
// each piece of text as it comes; the non-streaming answer is the sum of the same deltas.
#pragma once
#include <optional>
#include <string_view>

#include "server/reasoning_parser.h"
#include "server/reply_delta.h"
#include "server/tool_call_parser.h"

namespace turbine::server {

struct ReplyParsing {
  std::optional<ToolCallFormat> tool_calls;
  std::optional<ReasoningFormat> reasoning;
  bool prompt_opened_reasoning = false;  // the rendered prompt ends with `<think>`
  // The start of the reply that the prompt already holds (the opening of a call tool_choice forces,
  // forced_tool_call_opening): parsed as if the model had written it.
  std::string forced_prefix;

  bool any() const { return tool_calls || reasoning; }
};

class ReplyParser {
 public:
  explicit ReplyParser(const ReplyParsing& parsing);

  ReplyDelta feed(std::string_view text);
  ReplyDelta finish();
  bool parses_reasoning() const { return reasoning_.has_value(); }
  int tool_calls() const { return tools_ ? tools_->calls() : 0; }

 private:
  ReplyDelta parse(std::string_view text);
  // What the forced prefix gave, which goes out with the first delta.
  ReplyDelta take_pending(ReplyDelta&& out);

  std::optional<ReasoningParser> reasoning_;
  std::optional<ToolCallParser> tools_;
  ReplyDelta pending_;
};

}  // namespace turbine::server
