#include "cli/bench_serve_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"

namespace turbine::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Tokens and usage in one streamed event of the chosen API; the rest of the event is not looked at.
struct EventTokens {
  int tokens = 0;
  int usage_completion = -1, usage_prompt = -1;
  std::string error;
};

int array_size(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? int(it->size()) : -1;
}

EventTokens read_event(BenchApi api, const nlohmann::json& j) {
  EventTokens e;
  if (!j.is_object()) {
    e.error = "an event that is not a JSON object";
    return e;
  }
  if (auto err = j.find("error"); err != j.end()) {
    e.error = err->is_object() ? err->value("message", err->dump()) : err->dump();
    return e;
  }
  if (auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
    e.usage_completion = usage->value("completion_tokens", -1);
    e.usage_prompt = usage->value("prompt_tokens", -1);
  }
  const nlohmann::json* holder = &j;  // where token ids and the finish reason are
  if (api != BenchApi::Generate) {
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) return e;
    holder = &(*choices)[0];
  }
  const int ids = array_size(*holder, api == BenchApi::Generate ? "output_ids" : "token_ids");
  if (ids >= 0) {
    e.tokens = ids;
  } else if (api == BenchApi::Completions) {  // a server that sends no ids: one token per non-empty text
    e.tokens = holder->value("text", std::string()).empty() ? 0 : 1;
  } else if (api == BenchApi::Chat) {
    auto delta = holder->find("delta");
    e.tokens = delta != holder->end() && delta->is_object() && !delta->value("content", std::string()).empty();
  }
  if (auto reason = holder->find("finish_reason"); reason != holder->end() && *reason == "error")
    e.error = "the server ended the request with finish_reason \"error\"";
  return e;
}

class Runner;

// One kept-alive connection; it runs one request at a time and is then handed the next.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Runner& runner, asio::io_context& io) : runner_(runner), stream_(io) {}
  void start(size_t index);

 private:
  void connect();
  void send();
  void read_header();
  void read_body();
  void on_data(const std::string& data);
  void broken(const beast::error_code& ec, const char* while_doing);
  void end(bool ok, std::string error);
  void expire();

  Runner& runner_;
  beast::tcp_stream stream_;
  bool open_ = false;
  bool reused_ = false;   // this request went out on a connection an earlier request used
  bool retried_ = false;  // ... and was sent again on a fresh one after that connection failed
  size_t index_ = 0;
  Clock::time_point sent_, last_event_;
  RequestTiming timing_;
  int counted_tokens_ = 0;
  bool done_ = false;  // [DONE] seen
  std::string stream_error_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  SseDecoder sse_;
  std::string error_body_;
  char piece_[16384];
};

class Runner {
 public:
  Runner(const BenchServeSetup& setup, const std::vector<std::string>& bodies, const std::vector<double>& gaps,
         const std::function<void(size_t)>& on_done)
      : setup(setup), bodies(bodies), gaps_(gaps), on_done_(on_done), timer_(io), results_(bodies.size()) {}

  std::vector<RequestTiming> run() {
    beast::error_code ec;
    tcp::resolver resolver(io);
    endpoints = resolver.resolve(setup.url.host, setup.url.port, ec);
    if (ec) fail("cannot resolve server {}: {}", setup.url.host, ec.message());
    bool paced = false;
    for (double g : gaps_) paced = paced || g > 0;
    next_arrival_ = Clock::now();
    if (paced) {
      arrive_later(0);
    } else {
      for (size_t i = 0; i < bodies.size(); ++i) ready_.push_back(i);
      pump();
    }
    io.run();
    return std::move(results_);
  }

  // Called by a connection when its request has ended; the connection may take the next one.
  void finished(const std::shared_ptr<Connection>& c, size_t index, RequestTiming timing, bool reusable) {
    results_[index] = std::move(timing);
    --active_;
    ++done_;
    if (reusable) idle_.push_back(c);
    on_done_(done_);
    pump();
  }

  const BenchServeSetup& setup;
  const std::vector<std::string>& bodies;
  asio::io_context io{1};
  tcp::resolver::results_type endpoints;

 private:
  void arrive_later(size_t i) {
    if (i >= bodies.size()) return;
    next_arrival_ += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gaps_[i]));
    timer_.expires_at(next_arrival_);
    timer_.async_wait([this, i](const beast::error_code&) {
      ready_.push_back(i);
      pump();
      arrive_later(i + 1);
    });
  }

  void pump() {
    while (!ready_.empty() && (setup.concurrency == 0 || active_ < setup.concurrency)) {
      const size_t i = ready_.front();
      ready_.pop_front();
      std::shared_ptr<Connection> c;
      if (idle_.empty()) {
        c = std::make_shared<Connection>(*this, io);
      } else {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
      ++active_;
      c->start(i);
    }
  }

  const std::vector<double>& gaps_;
  const std::function<void(size_t)>& on_done_;
  asio::steady_timer timer_;
  Clock::time_point next_arrival_;
  std::deque<size_t> ready_;
  std::vector<std::shared_ptr<Connection>> idle_;
  size_t active_ = 0, done_ = 0;
  std::vector<RequestTiming> results_;
};

void Connection::start(size_t index) {
  index_ = index;
  timing_ = {};
  counted_tokens_ = 0;
  done_ = false;
  stream_error_.clear();
  error_body_.clear();
  sse_ = SseDecoder();
  reused_ = open_;
  retried_ = false;
  sent_ = last_event_ = Clock::now();
  if (open_)
    send();
  else
    connect();
}

void Connection::expire() { stream_.expires_after(runner_.setup.timeout); }

void Connection::connect() {
  // Opened here, not by the connect, so that running out of file descriptors says so.
  beast::error_code ec;
  stream_.socket().open(runner_.endpoints.begin()->endpoint().protocol(), ec);
  if (ec) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), ec] { self->broken(ec, "opening a socket (see `ulimit -n`)"); });
    return;
  }
  expire();
  stream_.async_connect(runner_.endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
    if (ec) return self->broken(ec, "connecting");
    self->open_ = true;
    self->send();
  });
}

void Connection::send() {
  const BenchServeSetup& s = runner_.setup;
  request_ = {http::verb::post, s.url.base_path + s.path, 11};
  request_.set(http::field::host, s.url.host);
  request_.set(http::field::content_type, "application/json");
  request_.set(http::field::accept, "text/event-stream");
  for (const auto& [name, value] : s.headers) request_.set(name, value);
  request_.body() = runner_.bodies[index_];
  request_.keep_alive(true);
  request_.prepare_payload();
  expire();
  http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->broken(ec, "sending the request");
    self->read_header();
  });
}

void Connection::read_header() {
  parser_.emplace();
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  expire();
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->broken(ec, "waiting for the answer");
    self->read_body();
  });
}

void Connection::read_body() {
  if (parser_->is_done()) {
    const int status = int(parser_->get().result_int());
    if (status != 200) {
      std::string message = server_error_message(error_body_);
      if (message.size() > 300) message.resize(300);
      return end(false, fmt::format("HTTP {}: {}", status, message));
    }
    if (!stream_error_.empty()) return end(false, stream_error_);
    if (!done_) return end(false, "the stream ended without [DONE]");
    return end(true, "");
  }
  parser_->get().body().data = piece_;
  parser_->get().body().size = sizeof piece_;
  expire();  // bounds the wait for the next piece, not the whole reply
  http::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return self->broken(ec, "reading the answer");
    const std::string_view piece(self->piece_, sizeof self->piece_ - self->parser_->get().body().size);
    if (!piece.empty()) {
      if (self->parser_->get().result_int() == 200)
        self->sse_.feed(piece, [&](const std::string& data) { self->on_data(data); });
      else if (self->error_body_.size() < 4096)
        self->error_body_.append(piece);
    }
    self->read_body();
  });
}

void Connection::on_data(const std::string& data) {
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  EventTokens e;
  try {
    e = read_event(runner_.setup.api, nlohmann::json::parse(data, nullptr, false));
  } catch (const nlohmann::json::exception&) {  // a field of an unexpected type
    e = {};
    e.error = "an event of an unexpected shape: " + data.substr(0, 200);
  }
  if (!e.error.empty() && stream_error_.empty()) stream_error_ = e.error;
  if (e.usage_completion >= 0) timing_.output_tokens = e.usage_completion;
  if (e.usage_prompt >= 0) timing_.prompt_tokens = e.usage_prompt;
  if (e.tokens <= 0) return;
  const Clock::time_point now = Clock::now();
  if (counted_tokens_ == 0) {
    timing_.ttft_ms = ms_between(sent_, now);
    // The first token of an event that brings several came with the first; the rest share no gap.
    timing_.itl_ms.insert(timing_.itl_ms.end(), size_t(e.tokens - 1), 0.0);
  } else {
    timing_.itl_ms.insert(timing_.itl_ms.end(), size_t(e.tokens), ms_between(last_event_, now) / e.tokens);
  }
  last_event_ = now;
  counted_tokens_ += e.tokens;
}

void Connection::broken(const beast::error_code& ec, const char* while_doing) {
  beast::error_code ignored;
  stream_.socket().close(ignored);
  open_ = false;
  // A kept-alive connection the server closed while it was idle fails at once: send again on a new one.
  const bool nothing_back = !parser_ || !parser_->is_header_done();
  if (reused_ && !retried_ && nothing_back && ec != beast::error::timeout) {
    retried_ = true;
    sent_ = last_event_ = Clock::now();
    return connect();
  }
  const std::string where = fmt::format("{}:{}", runner_.setup.url.host, runner_.setup.url.port);
  if (ec == beast::error::timeout)
    return end(false, fmt::format("nothing arrived from {} within {} s while {} (--timeout)", where,
                                  runner_.setup.timeout.count(), while_doing));
  end(false, fmt::format("{} while {} ({})", ec.message(), while_doing, where));
}

void Connection::end(bool ok, std::string error) {
  timing_.ok = ok;
  timing_.error = std::move(error);
  timing_.e2e_ms = ms_between(sent_, Clock::now());
  if (timing_.output_tokens == 0) timing_.output_tokens = counted_tokens_;
  const bool reusable = open_ && ok && parser_ && parser_->keep_alive();
  if (!reusable && open_) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    open_ = false;
  }
  parser_.reset();
  runner_.finished(shared_from_this(), index_, std::move(timing_), reusable);
}

}  // namespace

std::vector<RequestTiming> run_bench_requests(const BenchServeSetup& setup, const std::vector<std::string>& bodies,
                                              const std::vector<double>& gaps,
                                              const std::function<void(size_t)>& on_done) {
  Runner runner(setup, bodies, gaps, on_done);
  return runner.run();
}

}  // namespace turbine::cli
