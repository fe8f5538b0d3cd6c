#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace turbine::server {

std::string error_body(const ApiError& error) {
  nlohmann::ordered_json e = {
      {"message", error.what()},
      {"type", error.type},
      {"param", error.param.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error.param)},
      {"code", error.code.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error.code)}};
  return nlohmann::ordered_json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace turbine::server
