// The handlers of the generation and utility endpoints. Each runs on the connection's strand,
// throws ApiError for a bad request (answered by the router) and answers through the sink.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/serving_context.h"

namespace turbine::server {

// POST /v1/completions
void handle_completions(ServingContext& context, const nlohmann::ordered_json& body,
                        std::shared_ptr<ResponseSink> sink);
// POST /v1/chat/completions
void handle_chat(ServingContext& context, const nlohmann::ordered_json& body, std::shared_ptr<ResponseSink> sink);
// POST /generate (LMDeploy's, with stateful sessions)
void handle_generate(ServingContext& context, const nlohmann::ordered_json& body, std::shared_ptr<ResponseSink> sink);

}  // namespace turbine::server
