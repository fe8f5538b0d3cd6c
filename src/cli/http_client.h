// A small blocking HTTP/1.1 client (Boost.Beast) for `turbine client`: one connection per request,
// the answer's body handed over piece by piece as it arrives, so a streamed reply shows at once.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turbine::cli {

// An http:// address: host, port (80 when not given) and the path in front of every request's target.
struct HttpUrl {
  std::string host;
  std::string port;
  std::string base_path;  // without a trailing "/"; empty for the server's root
};

// Parses "http://host[:port][/path]"; a bad address (or https://) is a turbine::Error naming it.
HttpUrl parse_http_url(const std::string& url);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// POSTs a JSON body to `url.base_path + path`. `on_body` receives the response's body as it arrives,
// only when the status is 200 and `accept_200(content_type)` holds; otherwise the whole body is
// returned as `body`.
// A server that cannot be reached, a connection that breaks, or `timeout` passing with nothing
// arriving (while connecting, sending, or between pieces of the answer) is a turbine::Error.
struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;  // the whole body when it was not handed to on_body (an error's, or http_get's)
};
HttpResult http_post(const HttpUrl& url, const std::string& path, const HttpHeaders& headers, const std::string& body,
                     std::chrono::seconds timeout, const std::function<bool(std::string_view)>& accept_200,
                     const std::function<void(std::string_view)>& on_body);

// GETs `url.base_path + path`; the whole answer is returned, whatever its status. Errors as http_post.
HttpResult http_get(const HttpUrl& url, const std::string& path, const HttpHeaders& headers,
                    std::chrono::seconds timeout);

// The server's message in an error answer's body: OpenAI's {"error": {"message": ...}}, LMDeploy's
// {"message": ...} or {"detail": ...}, else the body itself.
std::string server_error_message(const std::string& body);

// The `data:` payloads of a server-sent event stream, fed in pieces of any size.
class SseDecoder {
 public:
  // Calls `on_data` with the payload of each complete `data:` line in `piece`.
  void feed(std::string_view piece, const std::function<void(const std::string&)>& on_data);

 private:
  std::string pending_;  // the start of a line whose end has not arrived yet
};

}  // namespace turbine::cli
