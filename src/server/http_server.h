// The HTTP/1.1 side of `turbine serve` on Boost.Beast: a listener and one connection object per
// client, each on its own strand, on a few io threads. A handler answers a request through a
// ResponseSink, either at once or later (streaming), from the connection's strand; other threads
// (the engine's) post to sink->executor() and never touch a socket themselves.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/server_options.h"

namespace turbine::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The answer to one request. Every method must be called on executor() (the connection's strand).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  // A whole response.
  virtual void respond(int status, const std::string& content_type, std::string body, HeaderList extra = {}) = 0;
  // A chunked response written piece by piece: begin_stream, stream..., end_stream.
  virtual void begin_stream(int status, const std::string& content_type) = 0;
  virtual void stream(std::string data) = 0;
  virtual void end_stream() = 0;
  // `cancel` runs once on the strand if the client goes away before the response is complete.
  virtual void on_disconnect(std::function<void()> cancel) = 0;
  virtual bool disconnected() const = 0;
};

using Handler = std::function<void(const HttpRequest&, std::shared_ptr<ResponseSink>)>;

class HttpServer {
 public:
  HttpServer(const ServerOptions& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port and starts accepting on the io threads. Throws Error when it cannot bind.
  void start();
  // Closes the listening socket (connections already open go on).
  void stop_accepting();
  // Stops the io threads (open connections are dropped) and joins them.
  void stop();
  // Connections answer with "Connection: close" from now on.
  void set_closing() { closing_ = true; }
  boost::asio::io_context& context() { return ioc_; }
  int port() const { return port_; }

 private:
  void accept();

  ServerOptions options_;
  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> closing_{false};
};

}  // namespace turbine::server
