// JSON bodies and server-sent events of the generation endpoints: OpenAI's completion and chat
// completion objects (whole and as chunks) and LMDeploy's /generate answer.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/reply_delta.h"

namespace turbine::server {

enum class ApiKind { Completion, Chat, Generate };

// What every body of one response repeats.
struct ResponseHeader {
  ApiKind kind = ApiKind::Completion;
  std::string id;       // "cmpl-...", "chatcmpl-...", "gen-..."
  int64_t created = 0;  // unix seconds
  std::string model;
  bool return_token_ids = false;
  bool include_usage = false;          // streaming: "usage": null on each chunk and a final usage chunk
  bool logprobs = false;               // choices carry "logprobs" (else null)
  std::optional<uint64_t> session_id;  // /generate
  int history_tokens = 0;              // /generate: session tokens before this call
};

// One alternative of a logprobs entry as the API shows it: the token's text ("token_id:N" with
// return_tokens_as_token_ids) and its log-probability.
struct TokenLogprobView {
  std::string token;
  float logprob = 0.0f;
  int32_t id = 0;  // /generate writes ids
};

// One generated token's logprobs (server/logprob_views.h makes them).
struct LogprobStep {
  TokenLogprobView chosen;
  std::vector<TokenLogprobView> top;
  size_t text_offset = 0;  // bytes of the choice's text before this token's (the legacy format's)
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  std::string finish_reason;  // stop, length, abort, tool_calls
  std::vector<int32_t> prompt_ids, output_ids;
  // Chat with reply parsers: the reply as they split it (the message's content, reasoning_content and
  // tool_calls instead of `text`).
  std::optional<ReplyDelta> parsed;
  bool has_reasoning = false;         // a reasoning parser ran: reasoning_content is given (null when empty)
  std::vector<LogprobStep> logprobs;  // with header.logprobs: one per output token
};

// The non-streaming body.
std::string full_response(const ResponseHeader& header, const std::vector<ChoiceResult>& choices, const Usage& usage);
// One streamed event for choice `index`: `first` adds the chat role, `finish_reason` ends the choice.
// Completions and /generate stream `delta.content` as their text. `logprobs` (with header.logprobs)
// covers the tokens whose text the event carries.
std::string stream_event(const ResponseHeader& header, int index, const ReplyDelta& delta,
                         const std::vector<int32_t>& ids, bool first, const std::string* finish_reason,
                         std::span<const LogprobStep> logprobs = {});
// The usage chunk sent before [DONE] when stream_options.include_usage is set.
std::string usage_event(const ResponseHeader& header, const Usage& usage);
inline std::string done_event() { return "data: [DONE]\n\n"; }

}  // namespace turbine::server
