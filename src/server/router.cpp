#include "server/router.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "server/api_error.h"
#include "server/endpoint_common.h"
#include "server/endpoints.h"
#include "server/web_assets.h"

namespace turbine::server {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

void send_json(ResponseSink& sink, const json& body, int status = 200) {
  sink.respond(status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string_view target_path(const HttpRequest& request) {
  std::string_view target(request.target().data(), request.target().size());
  return target.substr(0, target.find('?'));
}

void require_method(const HttpRequest& request, http::verb verb) {
  if (request.method() != verb)
    throw ApiError(405, "invalid_request_error", "", "method_not_allowed",
                   fmt::format("{} {} is not allowed; use {}", std::string(request.method_string()),
                               std::string(target_path(request)), std::string(http::to_string(verb))));
}

}  // namespace

void Router::handle(const HttpRequest& request, std::shared_ptr<ResponseSink> sink) {
  try {
    route(request, sink);
  } catch (const ApiError& e) {
    context_.metrics.record_http_error(e.status);
    HeaderList extra;
    if (e.status == 429) extra.emplace_back("Retry-After", "1");
    if (e.status == 401) extra.emplace_back("WWW-Authenticate", "Bearer");
    sink->respond(e.status, "application/json", error_body(e), std::move(extra));
  } catch (const std::exception& e) {
    context_.metrics.record_http_error(500);
    sink->respond(500, "application/json", error_body(ApiError(500, "server_error", "", "", e.what())));
  }
}

void Router::check_api_key(const HttpRequest& request) const {
  const auto& keys = context_.options.api_keys;
  if (keys.empty()) return;
  const auto header = request[http::field::authorization];
  const std::string_view value(header.data(), header.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.substr(0, kBearer.size()) == kBearer &&
      std::find(keys.begin(), keys.end(), value.substr(kBearer.size())) != keys.end())
    return;
  throw ApiError(401, "authentication_error", "", "invalid_api_key",
                 value.empty() ? "missing API key: send 'Authorization: Bearer KEY'" : "invalid API key");
}

void Router::route(const HttpRequest& request, const std::shared_ptr<ResponseSink>& sink) {
  const std::string_view path = target_path(request);
  if (request.method() == http::verb::options) {  // CORS preflight
    sink->respond(204, "text/plain", "",
                  {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                   {"Access-Control-Allow-Headers", "Authorization, Content-Type, X-Session-Id"},
                   {"Access-Control-Max-Age", "600"}});
    return;
  }
  const ServedModel* model = context_.model();
  if (path == "/health") {
    require_method(request, http::verb::get);
    if (model)
      sink->respond(200, "application/json", "{\"status\":\"ok\"}");
    else
      sink->respond(503, "application/json", "{\"status\":\"loading\"}");
    return;
  }
  // The web UI's page and files need no key: the page sends the key the user types with its API calls.
  if (const WebAsset* asset = find_web_asset(path)) {
    require_method(request, http::verb::get);
    sink->respond(200, std::string(asset->content_type), std::string(asset->body), {{"Cache-Control", "no-cache"}});
    return;
  }
  check_api_key(request);
  static constexpr std::string_view kPaths[] = {
      "/v1/models", "/metrics", "/v1/encode", "/abort_request", "/v1/completions", "/v1/chat/completions", "/generate"};
  if (std::find(std::begin(kPaths), std::end(kPaths), path) == std::end(kPaths))
    throw ApiError(404, "invalid_request_error", "", "not_found",
                   fmt::format("no route for {} {}", std::string(request.method_string()), std::string(path)));
  if (!model) throw ApiError(503, "server_error", "", "loading", "the model is still loading");
  if (path == "/v1/models") {
    require_method(request, http::verb::get);
    models(*sink);
    return;
  }
  if (path == "/metrics") {
    require_method(request, http::verb::get);
    metrics(*sink);
    return;
  }
  require_method(request, http::verb::post);
  if (path == "/abort_request") {
    abort(request, *sink);
    return;
  }
  const auto body = parse_json_body(request.body());
  if (path == "/v1/encode") {
    encode(body, *sink);
    return;
  }
  if (context_.draining()) throw ApiError(503, "server_error", "", "shutting_down", "the server is shutting down");
  if (path == "/v1/completions")
    handle_completions(context_, body, sink);
  else if (path == "/v1/chat/completions")
    handle_chat(context_, body, sink);
  else
    handle_generate(context_, body, sink);
}

void Router::models(ResponseSink& sink) const {
  const ServedModel& m = *context_.model();
  json card = {{"id", m.name},
               {"object", "model"},
               {"created", unix_time_now()},
               {"owned_by", "turbine"},
               {"max_model_len", m.engine->session_len()}};
  if (m.vocab_size > 0) card["vocab_size"] = m.vocab_size;
  send_json(sink, {{"object", "list"}, {"data", json::array({card})}});
}

void Router::metrics(ResponseSink& sink) const {
  const Engine& engine = *context_.model()->engine;
  const BlockUsage blocks = engine.block_usage();
  const EngineCounters counters = engine.counters();
  EngineGauges g;
  g.blocks_free = blocks.free;
  g.blocks_active = blocks.active;
  g.blocks_cached = blocks.cached;
  g.running = context_.tracker.running();
  g.queued = context_.tracker.in_flight() - g.running;
  g.preemptions = counters.preemptions;
  g.cached_prefix_tokens = counters.cached_prefix_tokens;
  g.steps = counters.steps;
  sink.respond(200, "text/plain; version=0.0.4", context_.metrics.render(g));
}

void Router::encode(const nlohmann::ordered_json& body, ResponseSink& sink) const {
  const ServedModel& m = *context_.model();
  const EncodeRequest r = parse_encode_request(body);
  json ids = json::array(), lengths = json::array();
  for (const std::string& text : r.inputs) {
    std::vector<int32_t> encoded;
    if (r.add_bos && m.tokenizer->add_bos && m.tokenizer->bos_id) encoded.push_back(*m.tokenizer->bos_id);
    const auto text_ids = m.tokenizer->encode(text);
    encoded.insert(encoded.end(), text_ids.begin(), text_ids.end());
    lengths.push_back(encoded.size());
    ids.push_back(std::move(encoded));
  }
  const bool single = body["input"].is_string();
  send_json(sink, {{"input_ids", single ? ids[0] : ids}, {"length", single ? lengths[0] : lengths}});
}

void Router::abort(const HttpRequest& request, ResponseSink& sink) const {
  const auto body = parse_json_body(request.body());
  if (!body.is_object()) reject("", "the request body must be a JSON object");
  if (body.value("abort_all", false) == true) {
    context_.tracker.cancel_all();
    send_json(sink, {{"aborted", "all"}});
    return;
  }
  std::string tag;
  for (const char* name : {"session_id", "request_id"}) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    if (it->is_number_integer())
      tag = it->dump();
    else if (it->is_string())
      tag = it->get<std::string>();
    else
      reject(name, "'{}' must be an integer or a string", name);
    const int n = context_.tracker.cancel_tagged(tag);
    if (n == 0)
      throw ApiError(404, "invalid_request_error", name, "not_found",
                     fmt::format("no running request has {} {}", name, tag));
    send_json(sink, {{"aborted", n}});
    return;
  }
  reject("session_id", "give 'session_id', 'request_id' or 'abort_all': true");
}

}  // namespace turbine::server
