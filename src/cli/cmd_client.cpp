// `turbine client URL`: a terminal conversation with a running `turbine serve` (or any server with the
// same API). It follows `turbine chat`: over a pipe every input line is one user turn, the reply streams
// to stdout and a blank line follows it; on a terminal a `> ` prompt; `/reset` starts a new
// conversation, `/exit` (or end of input) quits.
//
// By default the client keeps the conversation and sends all of it to /v1/chat/completions each turn,
// with an X-Session-Id header (new on /reset) so a proxy in front of several replicas can keep one
// conversation on one replica, where prefix caching finds its earlier turns. With --session it uses
// LMDeploy's stateful /generate instead: the server keeps the conversation under a session_id, each
// turn sends only its new text, and /reset ends the session and takes a new id.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/line_reader.h"
#include "cli/output.h"
#include "cli/reply_trimmer.h"
#include "core/error.h"

namespace turbine::cli {

namespace {

using Json = nlohmann::ordered_json;

struct ClientArgs {
  std::string url;
  bool session = false;
  std::string api_key;
  std::string system;
  std::optional<int> max_tokens;
  std::optional<float> temperature;
  std::string model;
  int timeout_s = 600;
};

// A random conversation id: 63 bits, so that it is also a valid non-negative /generate session_id.
uint64_t random_id() {
  std::random_device device;
  const uint64_t high = device(), low = device();
  return ((high << 32) | low) & 0x7fffffffffffffffULL;
}

// Prints a reply as it streams, trimmed as `turbine chat` trims it (cli/reply_trimmer.h).
class ReplyPrinter {
 public:
  void add(const std::string& text) {
    const std::string out = trimmer_.take(text);
    if (!out.empty()) write_stdout(out);
  }

 private:
  ReplyTrimmer trimmer_;
};

// Parses one `data:` payload; a payload that is not JSON means the server is not what we expect.
Json parse_event(const std::string& data) {
  Json j = Json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("the server sent an event that is not a JSON object: {}", data);
  if (j.contains("error")) {
    const Json& e = j["error"];
    fail("the server reported an error: {}", e.is_object() ? e.value("message", e.dump()) : e.dump());
  }
  return j;
}

class Client {
 public:
  explicit Client(const ClientArgs& args) : args_(args), url_(parse_http_url(args.url)) { reset(); }

  void reset() {
    id_ = random_id();
    messages_ = Json::array();
    if (!args_.system.empty()) messages_.push_back({{"role", "system"}, {"content", args_.system}});
    first_turn_ = true;
    opened_ = false;
  }

  // Ends the server's session (--session mode) when this conversation may have opened one.
  void end() {
    if (!opened_) return;
    opened_ = false;
    const Json body = {{"session_id", id_}, {"end_session", true}};
    auto no_stream = [](std::string_view) { return false; };
    auto ignore = [](std::string_view) {};
    const HttpResult r = http_post(url_, "/generate", headers(), body.dump(), timeout(), no_stream, ignore);
    // A session the server never opened (the first call failed) or already dropped is gone all the same.
    if (r.status != 200 && r.status != 404)
      fail("ending session {}: server answered {}: {}", id_, r.status, server_error_message(r.body));
  }

  // Sends one user turn and prints the reply as it streams.
  void turn(const std::string& line) {
    ReplyPrinter printer;
    auto on_text = [&](const std::string& text) { printer.add(text); };
    if (args_.session)
      generate_turn(line, on_text);
    else
      chat_turn(line, on_text);
    write_stdout("\n\n");
    first_turn_ = false;
  }

 private:
  HttpHeaders headers() const {
    HttpHeaders h = {{"X-Session-Id", fmt::format("{:016x}", id_)}};
    if (!args_.api_key.empty()) h.emplace_back("Authorization", "Bearer " + args_.api_key);
    return h;
  }

  std::chrono::seconds timeout() const { return std::chrono::seconds(args_.timeout_s); }

  void add_sampling(Json& body) const {
    if (!args_.model.empty()) body["model"] = args_.model;
    if (args_.max_tokens) body["max_tokens"] = *args_.max_tokens;
    if (args_.temperature) body["temperature"] = *args_.temperature;
  }

  // Posts `body` and hands each streamed event (before [DONE]) to `on_event`.
  void stream(const std::string& path, const Json& body, const std::function<void(const Json&)>& on_event) {
    SseDecoder decoder;
    bool done = false;
    auto is_event_stream = [](std::string_view type) { return type.substr(0, 17) == "text/event-stream"; };
    auto on_piece = [&](std::string_view piece) {
      decoder.feed(piece, [&](const std::string& data) {
        if (data == "[DONE]") {
          done = true;
          return;
        }
        if (!done) on_event(parse_event(data));
      });
    };
    const HttpResult r = http_post(url_, path, headers(), body.dump(), timeout(), is_event_stream, on_piece);
    if (r.status != 200) fail("server answered {}: {}", r.status, server_error_message(r.body));
    // A 200 that is not a stream: the URL names some other server (or a proxy's page).
    if (!is_event_stream(r.content_type))
      fail("{}{} answered with Content-Type '{}', not an event stream: is {} a turbine serve?", args_.url, path,
           r.content_type, args_.url);
    if (!done) fail("the server's stream ended without [DONE]");
  }

  void chat_turn(const std::string& line, const std::function<void(const std::string&)>& on_text) {
    messages_.push_back({{"role", "user"}, {"content", line}});
    Json body = {{"messages", messages_}, {"stream", true}};
    add_sampling(body);
    std::string reply;
    try {
      stream("/v1/chat/completions", body, [&](const Json& event) {
        const Json* choices = event.contains("choices") ? &event["choices"] : nullptr;
        if (!choices || !choices->is_array() || choices->empty()) return;  // e.g. a usage event
        const Json& choice = (*choices)[0];
        if (!choice.contains("delta") || !choice["delta"].is_object()) return;
        const Json content = choice["delta"].value("content", Json());
        if (!content.is_string()) return;
        reply += content.get<std::string>();
        on_text(content.get<std::string>());
      });
    } catch (...) {
      messages_.erase(messages_.end() - 1);  // the failed turn is not part of the conversation
      throw;
    }
    messages_.push_back({{"role", "assistant"}, {"content", reply}});
  }

  void generate_turn(const std::string& line, const std::function<void(const std::string&)>& on_text) {
    // The session's first turn carries the system text in front of the user's.
    std::string prompt = line;
    if (first_turn_ && !args_.system.empty()) prompt = args_.system + "\n" + line;
    Json body = {{"prompt", prompt}, {"session_id", id_}, {"stream", true}};
    add_sampling(body);
    opened_ = true;
    stream("/generate", body, [&](const Json& event) {
      const Json text = event.value("text", Json());
      if (text.is_string()) on_text(text.get<std::string>());
    });
  }

  const ClientArgs& args_;
  HttpUrl url_;
  uint64_t id_ = 0;
  Json messages_;
  bool first_turn_ = true;
  bool opened_ = false;  // a /generate call with this session_id was sent
};

void run(const ClientArgs& args) {
  Client client(args);
  const bool interactive = isatty(STDIN_FILENO);
  LineReader input(STDIN_FILENO);
  std::string line;
  for (;;) {
    if (interactive) write_stdout("> ");
    if (input.next(line, nullptr) != LineReader::Status::Line) {
      if (interactive) write_stdout("\n");  // the shell's prompt on a line of its own
      break;
    }
    if (line == "/exit") break;
    if (line == "/reset") {
      client.end();
      client.reset();
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      client.turn(line);
    } catch (const Error&) {
      // Release the server's session (--session) on the way out; the turn's error is the one to report.
      try {
        client.end();
      } catch (const Error&) {
      }
      throw;
    }
  }
  client.end();
}

}  // namespace

void register_client(CLI::App& app) {
  auto args = std::make_shared<ClientArgs>();
  auto* cmd = app.add_subcommand("client",
                                 "Chat with a running `turbine serve` (stdin: one user turn per line; /reset, /exit)");
  cmd->add_option("URL", args->url, "the server's address, e.g. http://127.0.0.1:23333")->required();
  cmd->add_flag("--session", args->session,
                "use the stateful /generate with a session_id (the server keeps the conversation) instead of "
                "/v1/chat/completions");
  cmd->add_option("--api-key", args->api_key, "sent as 'Authorization: Bearer KEY'");
  cmd->add_option("--system", args->system, "system message at the start of the conversation");
  cmd->add_option("--max-tokens", args->max_tokens, "the most tokens of each reply (default: the server's)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--temperature", args->temperature, "sampling temperature, 0 for greedy (default: the server's)")
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--model", args->model, "the model name to ask for (default: the server's only model)");
  cmd->add_option("--timeout", args->timeout_s,
                  "seconds to wait for the server to connect, take the request, or send the next piece of a reply")
      ->check(CLI::Range(1, 86400));
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
