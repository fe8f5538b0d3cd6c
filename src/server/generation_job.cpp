#include "server/generation_job.h"

#include <boost/asio/post.hpp>

#include <set>

#include "server/api_error.h"
#include "server/logprob_views.h"

namespace turbine::server {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void GenerationJob::start(ServingContext& context, std::shared_ptr<ResponseSink> sink, JobSpec spec) {
  const int n = int(spec.choices.size());
  if (!context.tracker.try_admit(n))
    throw ApiError(429, "rate_limit_error", "", "queue_full",
                   "the server's request queue is full (--max-queue); retry later");
  auto job = std::make_shared<GenerationJob>(context, sink, std::move(spec));
  job->submit_all();
}

GenerationJob::GenerationJob(ServingContext& context, std::shared_ptr<ResponseSink> sink, JobSpec spec)
    : context_(context), sink_(std::move(sink)), spec_(std::move(spec)), choices_(spec_.choices.size()) {
  if (spec_.reply_parsing.any())
    for (ChoiceState& c : choices_) c.parser.emplace(spec_.reply_parsing);
}

void GenerationJob::submit_all() {
  auto self = shared_from_this();
  remaining_ = choices_.size();
  std::weak_ptr<GenerationJob> weak = self;
  tracker_key_ = context_.tracker.add_job(spec_.tags, [weak] {
    if (auto job = weak.lock()) job->cancel();
  });
  sink_->on_disconnect([weak] {
    if (auto job = weak.lock()) job->cancel();
  });
  if (spec_.stream) sink_->begin_stream(200, "text/event-stream");
  Engine& engine = *context_.model()->engine;
  for (size_t i = 0; i < choices_.size(); ++i) {
    Request request;
    request.ids = spec_.choices[i].prompt_ids;
    request.params = spec_.choices[i].params;
    request.session_id = spec_.choices[i].engine_session;
    auto executor = sink_->executor();
    // Engine thread: copy the event onto the connection's strand and return at once.
    request.on_output = [self, i, executor](const RequestOutput& out) {
      boost::asio::post(executor, [self, i, out] { self->on_event(i, out); });
    };
    try {
      RequestHandle handle = engine.submit(std::move(request));
      std::lock_guard lock(handles_mutex_);
      choices_[i].handle = handle;
    } catch (const std::exception& e) {
      choices_[i].error = e.what();
      choices_[i].refused = true;
      end_choice(i, "error");
    }
  }
}

void GenerationJob::cancel() {
  std::lock_guard lock(handles_mutex_);
  for (ChoiceState& c : choices_)
    if (c.handle) c.handle->cancel();
}

void GenerationJob::on_event(size_t index, const RequestOutput& out) {
  ChoiceState& c = choices_[index];
  if (c.done) return;
  std::vector<int32_t> ids;
  if (out.token) {
    if (!c.started) {
      c.started = true;
      c.ttft_seconds = seconds_since(spec_.arrival);
      context_.tracker.mark_running();
    }
    if (spec_.header.logprobs && out.logprobs) {
      const Tokenizer& tokenizer = *context_.model()->tokenizer;
      const std::vector<int32_t>& prompt = spec_.choices[index].prompt_ids;
      const int32_t previous = c.all_ids.empty() ? (prompt.empty() ? -1 : prompt.back()) : c.all_ids.back();
      c.logprobs.push_back(
          logprob_step(tokenizer, *out.logprobs, previous, spec_.logprob_tokens_as_ids, c.token_text_bytes));
      c.token_text_bytes += token_piece(tokenizer, previous, *out.token).size();
    }
    c.all_ids.push_back(*out.token);
    if (out.show_id) {
      c.shown_ids.push_back(*out.token);
      ids.push_back(*out.token);
    }
  }
  c.text += out.text;
  ReplyDelta delta;
  if (c.parser) {
    delta = c.parser->feed(out.text);
    if (out.finished) delta.append(c.parser->finish());
    c.reply.append(ReplyDelta(delta));
  } else {
    delta.content = out.text;
  }
  std::string reason;
  if (out.finished) {
    if (!out.error.empty()) {
      c.error = out.error;
      reason = "error";
    } else if (out.reason == FinishReason::Stop) {
      // The model ended its turn after writing calls (a reply cut by length keeps "length").
      reason = c.parser && c.parser->tool_calls() > 0 ? "tool_calls" : "stop";
    } else if (out.reason == FinishReason::Length) {
      reason = "length";
    } else {
      reason = "abort";
    }
  }
  if (spec_.stream && (!delta.empty() || !ids.empty() || out.finished) && !sink_->disconnected()) {
    // Logprobs go out with the text that shows their tokens (held-back tokens wait for it).
    std::span<const LogprobStep> logprobs;
    if (!delta.empty() || out.finished) {
      logprobs = std::span<const LogprobStep>(c.logprobs).subspan(c.logprobs_sent);
      c.logprobs_sent = c.logprobs.size();
    }
    sink_->stream(
        stream_event(spec_.header, int(index), delta, ids, !c.sent_any, out.finished ? &reason : nullptr, logprobs));
    c.sent_any = true;
  }
  if (out.finished) end_choice(index, reason);
}

void GenerationJob::end_choice(size_t index, std::string reason) {
  ChoiceState& c = choices_[index];
  c.done = true;
  c.finish_reason = std::move(reason);
  context_.tracker.release(c.started);
  context_.metrics.record_request(c.finish_reason, int(spec_.choices[index].prompt_ids.size()), int(c.all_ids.size()),
                                  c.ttft_seconds, seconds_since(spec_.arrival));
  if (--remaining_ == 0) finish();
}

Usage GenerationJob::usage() const {
  Usage u;
  std::set<int> counted;
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (counted.insert(spec_.choices[i].prompt_index).second)
      u.prompt_tokens += int(spec_.choices[i].prompt_ids.size());
    u.completion_tokens += int(choices_[i].all_ids.size());
  }
  return u;
}

void GenerationJob::finish() {
  if (finished_) return;
  finished_ = true;
  context_.tracker.remove_job(tracker_key_);
  if (spec_.on_finish) spec_.on_finish(spec_.choices, choices_);
  const Usage u = usage();
  if (spec_.stream) {
    if (spec_.header.include_usage) sink_->stream(usage_event(spec_.header, u));
    sink_->stream(done_event());
    sink_->end_stream();
  } else {
    const ChoiceState* failed = nullptr;
    for (const ChoiceState& c : choices_)
      if (!c.error.empty()) failed = &c;
    if (failed) {
      const ApiError error = failed->refused ? ApiError(400, "invalid_request_error", "", "", failed->error)
                                             : ApiError(500, "server_error", "", "", failed->error);
      context_.metrics.record_http_error(error.status);
      sink_->respond(error.status, "application/json", error_body(error));
    } else {
      std::vector<ChoiceResult> results;
      for (size_t i = 0; i < choices_.size(); ++i) {
        const ChoiceState& c = choices_[i];
        ChoiceResult result;
        result.index = int(i);
        result.text = c.text;
        result.finish_reason = c.finish_reason;
        result.prompt_ids = spec_.choices[i].prompt_ids;
        result.output_ids = c.shown_ids;
        if (c.parser) {
          result.parsed = c.reply;
          result.has_reasoning = c.parser->parses_reasoning();
        }
        result.logprobs = c.logprobs;
        results.push_back(std::move(result));
      }
      sink_->respond(200, "application/json", full_response(spec_.header, results, u));
    }
  }
  // Dropping the handles breaks the job <-> channel cycle (the channel's callback holds the job).
  std::lock_guard lock(handles_mutex_);
  for (ChoiceState& c : choices_) c.handle.reset();
}

}  // namespace turbine::server
