#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace turbine::cli {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

HttpUrl parse_http_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    if (url.rfind("https://", 0) == 0) fail("URL '{}': https is not supported; give an http:// address", url);
    fail("URL '{}' must start with http:// (for example http://127.0.0.1:23333)", url);
  }
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  HttpUrl u;
  if (slash != std::string::npos) u.base_path = rest.substr(slash);
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  size_t colon = std::string::npos;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) fail("URL '{}': unclosed '[' in the host", url);
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') fail("URL '{}': expected ':PORT' after the host", url);
      colon = close + 1;
    }
  } else {
    colon = authority.find(':');
    u.host = authority.substr(0, colon);
  }
  if (u.host.empty()) fail("URL '{}' has no host", url);
  u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  const bool digits =
      !u.port.empty() && u.port.size() <= 5 && u.port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(u.port) < 1 || std::stoi(u.port) > 65535)
    fail("URL '{}': the port must be a number from 1 to 65535", url);
  return u;
}

namespace {

// Runs one asynchronous operation started by `start` (which sets `ec` when done) to its end; the
// stream's expiry (set before) turns a silent server into beast::error::timeout.
void run_one(boost::asio::io_context& io, const std::function<void()>& start) {
  io.restart();
  start();
  io.run();
}

std::string reason(const beast::error_code& ec, std::chrono::seconds timeout) {
  if (ec == beast::error::timeout) return fmt::format("nothing arrived within {} s (--timeout)", timeout.count());
  return ec.message();
}

// One request and its answer on a connection of its own.
HttpResult exchange(http::verb verb, const HttpUrl& url, const std::string& path, const HttpHeaders& headers,
                    const std::string& body, std::chrono::seconds timeout,
                    const std::function<bool(std::string_view)>& accept_200,
                    const std::function<void(std::string_view)>& on_body) {
  const std::string where = fmt::format("{}:{}", url.host, url.port);
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(url.host, url.port, ec);
  if (ec) fail("cannot resolve server {}: {}", url.host, ec.message());
  stream.expires_after(timeout);
  run_one(io, [&] { stream.async_connect(addresses, [&](beast::error_code e, const tcp::endpoint&) { ec = e; }); });
  if (ec) fail("cannot connect to the server at {}: {}", where, reason(ec, timeout));

  http::request<http::string_body> request{verb, url.base_path + path, 11};
  request.set(http::field::host, url.host);
  if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "application/json, text/event-stream");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  stream.expires_after(timeout);
  run_one(io, [&] { http::async_write(stream, request, [&](beast::error_code e, size_t) { ec = e; }); });
  if (ec) fail("cannot send the request to {}: {}", where, reason(ec, timeout));

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  stream.expires_after(timeout);
  run_one(io, [&] { http::async_read_header(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; }); });
  if (ec) fail("no answer from the server at {}: {}", where, reason(ec, timeout));
  HttpResult result;
  result.status = int(parser.get().result_int());
  result.content_type = std::string(parser.get()[http::field::content_type]);
  const bool streaming = result.status == 200 && accept_200(result.content_type);
  char chunk[4096];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // The timeout bounds the wait for each piece, not the whole answer (a long reply keeps streaming).
    stream.expires_after(timeout);
    run_one(io, [&] { http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; }); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) fail("the connection to {} broke during the answer: {}", where, reason(ec, timeout));
    const std::string_view piece(chunk, sizeof chunk - parser.get().body().size);
    if (piece.empty()) continue;
    if (streaming)
      on_body(piece);
    else
      result.body += piece;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);  // the server may have closed first
  return result;
}

}  // namespace

HttpResult http_post(const HttpUrl& url, const std::string& path, const HttpHeaders& headers, const std::string& body,
                     std::chrono::seconds timeout, const std::function<bool(std::string_view)>& accept_200,
                     const std::function<void(std::string_view)>& on_body) {
  return exchange(http::verb::post, url, path, headers, body, timeout, accept_200, on_body);
}

HttpResult http_get(const HttpUrl& url, const std::string& path, const HttpHeaders& headers,
                    std::chrono::seconds timeout) {
  return exchange(
      http::verb::get, url, path, headers, "", timeout, [](std::string_view) { return false; },
      [](std::string_view) {});
}

std::string server_error_message(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      return j["error"]["message"].get<std::string>();
    if (j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    for (const char* key : {"message", "detail"})
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no message)" : text;
}

void SseDecoder::feed(std::string_view piece, const std::function<void(const std::string&)>& on_data) {
  pending_ += piece;
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string_view line(pending_.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    constexpr std::string_view kData = "data:";
    if (line.substr(0, kData.size()) != kData) continue;  // blank separators, comments, other fields
    line.remove_prefix(kData.size());
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    on_data(std::string(line));
  }
  pending_.erase(0, start);
}

}  // namespace turbine::cli
