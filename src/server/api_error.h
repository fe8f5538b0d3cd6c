// The errors an HTTP client can cause, answered as OpenAI-style JSON
// {"error": {"message", "type", "param", "code"}} with a 4xx status while the server stays up.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace turbine::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, std::string param, std::string code, const std::string& message)
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type;   // invalid_request_error, authentication_error, not_found_error, ...
  std::string param;  // the request field at fault ("" when none)
  std::string code;   // a machine-readable name ("" when none)
};

// 400 invalid_request_error naming the field `param`.
template <typename... Args>
[[noreturn]] void reject(const std::string& param, fmt::format_string<Args...> format, Args&&... args) {
  throw ApiError(400, "invalid_request_error", param, "", fmt::format(format, std::forward<Args>(args)...));
}

// 400 for a field that the server knows but does not implement yet.
[[noreturn]] inline void reject_unsupported(const std::string& param) {
  throw ApiError(400, "invalid_request_error", param, "unsupported_parameter",
                 fmt::format("'{}' is not supported yet", param));
}

// The JSON body of an error response.
std::string error_body(const ApiError& error);

}  // namespace turbine::server
