// Routes each HTTP request: the web UI's static files, API-key check, CORS preflight, the endpoint by
// method and path, and every ApiError (or unexpected exception) turned into an OpenAI-style JSON error.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/serving_context.h"

namespace turbine::server {

class Router {
 public:
  explicit Router(ServingContext& context) : context_(context) {}
  void handle(const HttpRequest& request, std::shared_ptr<ResponseSink> sink);

 private:
  void route(const HttpRequest& request, const std::shared_ptr<ResponseSink>& sink);
  void check_api_key(const HttpRequest& request) const;
  void models(ResponseSink& sink) const;
  void metrics(ResponseSink& sink) const;
  void encode(const nlohmann::ordered_json& body, ResponseSink& sink) const;
  void abort(const HttpRequest& request, ResponseSink& sink) const;

  ServingContext& context_;
};

}  // namespace turbine::server
