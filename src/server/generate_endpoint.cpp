// LMDeploy's POST /generate. With a session_id the prompt is appended to that session: the server
// keeps the session's ids (SessionRegistry) and the engine keeps its KV, so each call prefills only
// its new tokens. A session runs one call at a time (another answers 400 "occupied");
// "end_session": true releases it after the call, or at once when no prompt is given.
#include <fmt/format.h>

#include "server/api_error.h"
#include "server/endpoint_common.h"
#include "server/endpoints.h"
#include "server/generation_job.h"

namespace turbine::server {

namespace {

void end_idle_session(ServingContext& context, uint64_t id, ResponseSink& sink) {
  switch (context.sessions.end(id)) {
    case SessionRegistry::End::Unknown:
      throw ApiError(404, "invalid_request_error", "session_id", "session_not_found",
                     fmt::format("session {} does not exist", id));
    case SessionRegistry::End::Busy:
      throw ApiError(400, "invalid_request_error", "session_id", "session_occupied",
                     fmt::format("session {} is occupied by a running request", id));
    case SessionRegistry::End::Ended: break;
  }
  context.model()->engine->end_session(id);
  sink.respond(200, "application/json", nlohmann::json{{"session_id", id}, {"ended", true}}.dump());
}

}  // namespace

void handle_generate(ServingContext& context, const nlohmann::ordered_json& body, std::shared_ptr<ResponseSink> sink) {
  const ServedModel& model = *context.model();
  const GenerateRequest r = parse_generate_request(body);
  if (!r.prompt) {
    end_idle_session(context, *r.session_id, *sink);
    return;
  }
  std::vector<int32_t> history;
  if (r.session_id && context.sessions.claim(*r.session_id, history) == SessionRegistry::Claim::Busy)
    throw ApiError(400, "invalid_request_error", "session_id", "session_occupied",
                   fmt::format("session {} is occupied by a running request", *r.session_id));
  try {
    // The first turn starts with BOS; later turns continue the session's text.
    std::vector<int32_t> ids = history;
    const std::vector<int32_t> fresh = prompt_ids(model, *r.prompt, history.empty(), "prompt");
    ids.insert(ids.end(), fresh.begin(), fresh.end());
    const SamplingParams params = plan_sampling(model, r.sampling, ids, 0);
    JobSpec spec;
    spec.header.kind = ApiKind::Generate;
    spec.header.id = make_response_id("gen");
    spec.header.created = unix_time_now();
    spec.header.model = model.name;
    spec.header.session_id = r.session_id;
    spec.header.logprobs = r.sampling.logprobs;
    spec.header.history_tokens = int(history.size());
    spec.stream = r.stream;
    spec.tags = {spec.header.id};
    if (r.session_id) spec.tags.push_back(std::to_string(*r.session_id));
    spec.choices.push_back({ids, params, 0, r.session_id});
    if (r.session_id) {
      const uint64_t id = *r.session_id;
      const bool end = r.end_session;
      Engine* engine = model.engine;
      spec.on_finish = [&context, id, end, engine, previous = history](const std::vector<JobChoice>& choices,
                                                                       const std::vector<ChoiceState>& states) {
        // A call the engine refused leaves the session as it was.
        std::vector<int32_t> conversation = states[0].error.empty() ? choices[0].prompt_ids : previous;
        if (states[0].error.empty())
          conversation.insert(conversation.end(), states[0].all_ids.begin(), states[0].all_ids.end());
        context.sessions.finish_turn(id, std::move(conversation));
        if (end && context.sessions.end(id) == SessionRegistry::End::Ended) engine->end_session(id);
      };
    }
    GenerationJob::start(context, std::move(sink), std::move(spec));
  } catch (...) {
    if (r.session_id) context.sessions.finish_turn(*r.session_id, std::move(history));
    throw;
  }
}

}  // namespace turbine::server
