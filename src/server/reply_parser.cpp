#include "server/reply_parser.h"

namespace turbine::server {

ReplyParser::ReplyParser(const ReplyParsing& parsing) {
  if (parsing.reasoning) reasoning_.emplace(*parsing.reasoning, parsing.prompt_opened_reasoning);
  if (parsing.tool_calls) tools_.emplace(*parsing.tool_calls);
  if (!parsing.forced_prefix.empty()) pending_ = parse(parsing.forced_prefix);
}

ReplyDelta ReplyParser::take_pending(ReplyDelta&& out) {
  if (pending_.empty()) return std::move(out);
  ReplyDelta first = std::move(pending_);
  pending_ = ReplyDelta();
  first.append(std::move(out));
  return first;
}

ReplyDelta ReplyParser::feed(std::string_view text) { return take_pending(parse(text)); }

ReplyDelta ReplyParser::parse(std::string_view text) {
  ReplyDelta out;
  if (reasoning_)
    out = reasoning_->feed(text);
  else
    out.content = text;
  if (tools_) {
    ReplyDelta calls = tools_->feed(out.content);
    out.content = std::move(calls.content);
    out.tool_calls = std::move(calls.tool_calls);
  }
  return out;
}

ReplyDelta ReplyParser::finish() {
  ReplyDelta out;
  if (reasoning_) out = reasoning_->finish();
  if (tools_) {
    ReplyDelta calls = tools_->feed(out.content);
    calls.append(tools_->finish());
    out.content = std::move(calls.content);
    out.tool_calls = std::move(calls.tool_calls);
  }
  return take_pending(std::move(out));
}

}  // namespace turbine::server
