#include "server/http_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <optional>

#include "core/error.h"
#include "server/api_error.h"

namespace turbine::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Bytes a client may send ahead (pipelined) while its previous request is being answered.
constexpr size_t kMaxReadAhead = 1 << 20;

class Connection : public ResponseSink, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const ServerOptions& options, const Handler& handler, const std::atomic<bool>& closing)
      : stream_(std::move(socket)),
        idle_timer_(stream_.get_executor()),
        options_(options),
        handler_(handler),
        closing_(closing) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  net::any_io_executor executor() override { return stream_.get_executor(); }

  void respond(int status, const std::string& content_type, std::string body, HeaderList extra) override {
    if (closed_ || !in_exchange_ || streaming_) return;
    std::string head = status_line(status);
    head += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body.size());
    for (const auto& [name, value] : extra) head += fmt::format("{}: {}\r\n", name, value);
    head += common_headers() + "\r\n";
    head += body;
    response_complete_ = true;
    enqueue(std::move(head));
  }

  void begin_stream(int status, const std::string& content_type) override {
    if (closed_ || !in_exchange_ || streaming_) return;
    streaming_ = true;
    std::string head = status_line(status);
    head += fmt::format("Content-Type: {}\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n", content_type);
    head += common_headers() + "\r\n";
    enqueue(std::move(head));
  }

  void stream(std::string data) override {
    if (closed_ || !streaming_ || response_complete_ || data.empty()) return;
    enqueue(fmt::format("{:x}\r\n", data.size()) + data + "\r\n");
  }

  void end_stream() override {
    if (closed_ || !streaming_ || response_complete_) return;
    response_complete_ = true;
    enqueue("0\r\n\r\n");
  }

  void on_disconnect(std::function<void()> cancel) override { on_disconnect_ = std::move(cancel); }
  bool disconnected() const override { return closed_; }

 private:
  std::string status_line(int status) {
    const auto reason = http::obsolete_reason(http::int_to_status(unsigned(status)));
    return fmt::format("HTTP/1.1 {} {}\r\n", status, std::string_view(reason.data(), reason.size()));
  }

  std::string common_headers() {
    std::string h = "Server: turbine\r\n";
    if (!keep_alive_ || closing_) {
      keep_alive_ = false;
      h += "Connection: close\r\n";
    }
    if (!origin_.empty()) {
      const auto& allowed = options_.allow_origins;
      if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
        h += "Access-Control-Allow-Origin: *\r\n";
      else if (std::find(allowed.begin(), allowed.end(), origin_) != allowed.end())
        h += fmt::format("Access-Control-Allow-Origin: {}\r\nVary: Origin\r\n", origin_);
    }
    return h;
  }

  // Between requests (and while one is being received) a connection may stay quiet only so long:
  // idle keep-alive connections and clients that never finish a request are closed.
  void arm_idle_timer() {
    idle_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options_.idle_timeout_seconds)));
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->in_exchange_) self->close();
    });
  }

  void read_request() {
    if (closed_) return;
    arm_idle_timer();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (closed_) return;  // the idle timer closed it while the request was still arriving
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      close();
      return;
    }
    idle_timer_.cancel();
    in_exchange_ = true;
    streaming_ = false;
    response_complete_ = false;
    on_disconnect_ = nullptr;
    if (ec) {
      // A request we cannot parse: answer once and close, the stream is no longer in step.
      keep_alive_ = false;
      const bool too_large = ec == http::error::body_limit;
      const int status = too_large ? 413 : ec == http::error::header_limit ? 431 : 400;
      const ApiError error(status, "invalid_request_error", "", too_large ? "request_too_large" : "bad_request",
                           too_large ? fmt::format("the request body is larger than {} bytes", options_.max_body_bytes)
                                     : fmt::format("malformed HTTP request: {}", ec.message()));
      respond(status, "application/json", error_body(error), {});
      return;
    }
    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive();
    const auto origin = request[http::field::origin];
    origin_.assign(origin.data(), origin.size());
    watch_peer();
    try {
      handler_(request, shared_from_this());
    } catch (const std::exception& e) {
      const ApiError error(500, "server_error", "", "", e.what());
      respond(500, "application/json", error_body(error), {});
    }
  }

  // While a request is answered, a read is kept pending so a client that goes away is noticed
  // at once (its engine requests are then cancelled). Bytes that arrive (a pipelined request)
  // stay in the buffer for the next read_request.
  void watch_peer() {
    if (watching_ || closed_ || buffer_.size() >= kMaxReadAhead) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->watching_ = false;
      if (ec == net::error::operation_aborted && !self->closed_) {
        // Cancelled by on_written: a pipelined request is already buffered and waits for its turn.
        if (!self->in_exchange_) self->read_request();
        return;
      }
      if (ec) {
        self->close();
        return;
      }
      self->buffer_.commit(n);
      if (self->in_exchange_)
        self->watch_peer();
      else
        self->read_request();
    });
  }

  void enqueue(std::string bytes) {
    writes_.push_back(std::move(bytes));
    if (writes_.size() == 1) write_next();
  }

  void write_next() {
    net::async_write(stream_, net::buffer(writes_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_written(ec); });
  }

  void on_written(beast::error_code ec) {
    if (closed_) return;  // the peer went away meanwhile (close() ran first on the strand)
    if (ec) {
      close();
      return;
    }
    writes_.pop_front();
    if (!writes_.empty()) {
      write_next();
      return;
    }
    if (!response_complete_) return;
    in_exchange_ = false;
    on_disconnect_ = nullptr;
    if (!keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      close();
      return;
    }
    if (!watching_) {
      read_request();
      return;
    }
    arm_idle_timer();
    if (buffer_.size() > 0) {
      beast::error_code ignored;  // nothing else is pending: the write queue is empty
      stream_.socket().cancel(ignored);
    }  // else the pending read continues into the next request
  }

  void close() {
    if (closed_) return;
    closed_ = true;  // writes_ is kept: a pending write still points into its front
    if (on_disconnect_ && in_exchange_ && !response_complete_) {
      auto cancel = std::move(on_disconnect_);
      on_disconnect_ = nullptr;
      cancel();
    }
    on_disconnect_ = nullptr;
    idle_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  net::steady_timer idle_timer_;
  const ServerOptions& options_;
  const Handler& handler_;
  const std::atomic<bool>& closing_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> writes_;
  std::function<void()> on_disconnect_;
  std::string origin_;
  bool keep_alive_ = true;
  bool in_exchange_ = false;
  bool streaming_ = false;
  bool response_complete_ = false;
  bool watching_ = false;
  bool closed_ = false;
};

}  // namespace

HttpServer::HttpServer(const ServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)), acceptor_(net::make_strand(ioc_)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) fail("--host: '{}' is not an IP address", options_.host);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("--host/--port: cannot listen on {}:{}: {}", options_.host, options_.port, ec.message());
  port_ = acceptor_.local_endpoint().port();
  accept();
  const int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void HttpServer::accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors or similar: try again shortly rather than stop accepting for good.
      auto timer = std::make_shared<net::steady_timer>(acceptor_.get_executor(), std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { accept(); });
      return;
    }
    std::make_shared<Connection>(std::move(socket), options_, handler_, closing_)->start();
    accept();
  });
}

void HttpServer::stop_accepting() {
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
}

void HttpServer::stop() {
  ioc_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace turbine::server
