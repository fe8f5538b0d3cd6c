// One HTTP generation request carried through the engine: its choices (prompts x n) are
// submitted as engine requests whose outputs the engine thread posts to the connection's strand;
// there they are streamed as SSE events or gathered into one JSON body. A client that goes away
// cancels every choice (the engine frees their KV at its next step).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/request.h"
#include "server/http_server.h"
#include "server/openai_response.h"
#include "server/reply_parser.h"
#include "server/serving_context.h"

namespace turbine::server {

struct JobChoice {
  std::vector<int32_t> prompt_ids;
  SamplingParams params;
  int prompt_index = 0;                    // choices of one prompt count its tokens once in usage
  std::optional<uint64_t> engine_session;  // /generate's stateful session
};

struct ChoiceState {
  std::optional<RequestHandle> handle;  // absent when the engine refused it
  std::string text;
  std::vector<int32_t> shown_ids;  // generated ids in the output (a stop id is not)
  std::vector<int32_t> all_ids;    // every generated id (what the engine's session holds)
  // With logprobs: one step per shown id; the first logprobs_sent went out in stream events.
  std::vector<LogprobStep> logprobs;
  size_t logprobs_sent = 0;
  size_t token_text_bytes = 0;  // the text of the shown ids so far (the legacy format's text_offset)
  bool started = false, sent_any = false, done = false;
  double ttft_seconds = -1;  // from the job's arrival to the first generated id
  std::string finish_reason;
  std::string error;
  bool refused = false;               // the engine refused the request at submit (a 400, not a server failure)
  std::optional<ReplyParser> parser;  // chat with --tool-call-parser / --reasoning-parser
  ReplyDelta reply;                   // the parser's deltas so far
};

struct JobSpec {
  ResponseHeader header;
  bool stream = false;
  std::vector<JobChoice> choices;
  std::vector<std::string> tags;       // names /abort_request can cancel the job by
  ReplyParsing reply_parsing;          // chat: how each choice's text is parsed (none: it is all content)
  bool logprob_tokens_as_ids = false;  // with header.logprobs: tokens written "token_id:N"
  std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();
  // Runs on the strand once every choice ended (before the response is completed).
  std::function<void(const std::vector<JobChoice>&, const std::vector<ChoiceState>&)> on_finish;
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  // On the sink's strand: admits the choices against the queue bound (ApiError 429 beyond it) and
  // submits them. Errors after admission end up in the response.
  static void start(ServingContext& context, std::shared_ptr<ResponseSink> sink, JobSpec spec);
  // Any thread: ends every choice at the engine's next step.
  void cancel();

  GenerationJob(ServingContext& context, std::shared_ptr<ResponseSink> sink, JobSpec spec);

 private:
  void submit_all();
  void on_event(size_t index, const RequestOutput& out);
  void end_choice(size_t index, std::string reason);
  void finish();
  Usage usage() const;

  ServingContext& context_;
  std::shared_ptr<ResponseSink> sink_;
  JobSpec spec_;
  std::vector<ChoiceState> choices_;
  size_t remaining_ = 0;
  uint64_t tracker_key_ = 0;
  bool finished_ = false;
  std::mutex handles_mutex_;  // cancel() from other threads vs. dropping the handles at the end
};

}  // namespace turbine::server
