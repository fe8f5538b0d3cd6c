// `turbine chat MODEL`: a conversation through the model's chat template and one engine session,
// so each turn prefills only its new tokens. Over a pipe every input line is one user turn; the
// reply is printed, then a blank line. `/reset` starts over, `/exit` (or end of input) quits.
// A conversation longer than the context loses its oldest turns (docs/cli.md); at a terminal,
// Ctrl-C stops a reply and Ctrl-C at the prompt quits.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/interrupt.h"
#include "cli/line_reader.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/reply_trimmer.h"
#include "core/error.h"
#include "chat/chat_prompt.h"
#include "engine/engine.h"
#include "chat/chat_end_of_turn.h"
#include "chat/chat_template.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct ChatArgs {
  std::string model;
  std::string system;
  bool stats = false;
  DeviceOptions device;
  EngineOptions engine;
  SamplingOptions sampling;
};

// Prints a reply as it streams, trimmed (cli/reply_trimmer.h). It runs on the engine thread, so a failed
// write is kept for the main thread (which stops the reply) instead of thrown into the engine.
class ReplyPrinter {
 public:
  void add(const std::string& text) {
    if (failed_) return;
    const std::string out = trimmer_.take(text);
    if (out.empty()) return;
    try {
      write_stdout(out);
    } catch (const Error& e) {
      error_ = e.what();
      failed_ = true;
    }
  }

  bool failed() const { return failed_; }
  // Rethrows a failed write on the calling thread (after the reply ended).
  void check() const {
    if (failed_) throw Error(error_);
  }

 private:
  ReplyTrimmer trimmer_;
  std::string error_;
  std::atomic<bool> failed_{false};
};

// The conversation and the ids its session's cache holds.
class Conversation {
 public:
  Conversation(const LoadedModel& m, const ChatTemplate& tmpl, std::string system)
      : m_(m), tmpl_(tmpl), system_(std::move(system)) {
    reset();
  }

  void reset() {
    messages_ = nlohmann::ordered_json::array();
    history_.clear();
    if (!system_.empty()) messages_.push_back({{"role", "system"}, {"content", system_}});
  }

  // The prompt ids of the conversation with `line` as the next user turn, dropping the oldest
  // turns (user + assistant pairs; the system message stays) until the prompt leaves `room` tokens
  // of `context` for the reply. Returns nothing, and leaves the conversation as it was, when even
  // `line` alone does not fit. `dropped`: how many turns went.
  std::optional<std::vector<int32_t>> add_user(const std::string& line, int context, int room, int* dropped) {
    *dropped = 0;
    const size_t first_turn = system_.empty() ? 0 : 1;
    nlohmann::ordered_json alone = nlohmann::ordered_json::array();
    if (first_turn) alone.push_back(messages_[0]);
    alone.push_back({{"role", "user"}, {"content", line}});
    if (!fits(render_ids(alone), context, room)) return std::nullopt;
    messages_.push_back({{"role", "user"}, {"content", line}});
    std::vector<int32_t> ids = render_ids(messages_);
    while (!fits(ids, context, room)) {
      messages_.erase(messages_.begin() + first_turn, messages_.begin() + first_turn + 2);
      ++*dropped;
      ids = render_ids(messages_);
    }
    history_ = ids;
    return ids;
  }

  // A generated id (the stop id that ended the reply included) and, at the end, the reply's text.
  void add_reply_id(int32_t id) { history_.push_back(id); }
  void add_reply(const std::string& text) { messages_.push_back({{"role", "assistant"}, {"content", text}}); }

 private:
  static bool fits(const std::vector<int32_t>& ids, int context, int room) {
    return int64_t(ids.size()) + room <= context;
  }

  std::vector<int32_t> render_ids(const nlohmann::ordered_json& messages) const {
    ChatTemplateInput in = chat_template_input(m_.tokenizer->config);
    in.messages = messages;
    // The rendered conversation carries its own BOS where the template writes one.
    return chat_prompt_ids(*m_.tokenizer, history_, tmpl_.render(in)).ids;
  }

  const LoadedModel& m_;
  const ChatTemplate& tmpl_;
  std::string system_;
  nlohmann::ordered_json messages_;
  // The conversation's ids as the session's cache holds them: each turn's prompt + the ids the
  // model generated (the stop id included), so the next turn prefills only its new tokens.
  std::vector<int32_t> history_;
};

// Streams one reply, cancelled when Ctrl-C is pressed (`interrupt`, at a terminal) or a write of it
// failed. Returns the result.
RequestResult reply(Engine& engine, Request request, const Interrupt* interrupt, const ReplyPrinter& printer) {
  RequestHandle handle = engine.submit(std::move(request));
  while (!handle.finished()) {
    if ((interrupt && interrupt->pending()) || printer.failed()) handle.cancel();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return handle.wait();
}

void run(const ChatArgs& args) {
  LoadedModel m = open_model_folder(args.model);
  const EngineOptions engine_flags = with_workspace_tunables(args.engine, m);
  const ChatTemplate tmpl = load_chat_template(args.model, m.tokenizer->config);
  SamplingParams params = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);
  if (auto eot = chat_end_of_turn_token(tmpl, *m.tokenizer)) params.stop_ids.push_back(*eot);
  load_model_weights(m, resolve_backend(args.device, engine_flags));
  Engine engine(*m.model, *m.tokenizer, make_engine_options(engine_flags));
  const int context = engine.session_len();
  // A prompt must leave room to answer: a quarter of the context, or --max-new-tokens if less.
  const int max_reply = params.max_new_tokens.value_or(kDefaultMaxNewTokens);
  const int room = std::max(1, std::min(max_reply, context / 4));

  const bool interactive = isatty(STDIN_FILENO);
  std::optional<Interrupt> interrupt;
  if (interactive) interrupt.emplace();
  const Interrupt* ctrl_c = interrupt ? &*interrupt : nullptr;
  LineReader input(STDIN_FILENO);
  uint64_t session = 1;
  Conversation conversation(m, tmpl, args.system);
  std::string line;
  for (;;) {
    if (interactive) write_stdout("> ");
    const LineReader::Status status = input.next(line, ctrl_c);
    if (status != LineReader::Status::Line) {
      if (interactive) write_stdout("\n");  // the shell's prompt on a line of its own
      break;
    }
    if (line == "/exit") break;
    if (line == "/reset") {
      engine.end_session(session++);
      conversation.reset();
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    int dropped = 0;
    const auto ids = conversation.add_user(line, context, room, &dropped);
    if (!ids) {
      std::fprintf(stderr,
                   "note: that message is too long: with room for a reply it does not fit "
                   "--session-len %d; it was not sent\n",
                   context);
      continue;
    }
    if (dropped > 0)
      std::fprintf(stderr, "note: dropped the %d oldest turn%s to fit --session-len %d\n", dropped,
                   dropped == 1 ? "" : "s", context);
    ReplyPrinter printer;
    auto on_output = [&](const RequestOutput& out) {
      printer.add(out.text);
      if (out.token) conversation.add_reply_id(*out.token);
    };
    if (interrupt) interrupt->take();
    // Each reply may take up to --max-new-tokens, cut to what the session leaves after this turn's prompt
    // (the conversation grows, so a fixed number could not fit every turn).
    SamplingParams turn = params;
    turn.max_new_tokens = std::min<int64_t>(max_reply, int64_t(context) - int64_t(ids->size()));
    const RequestResult r = reply(engine, Request{*ids, turn, session, on_output}, ctrl_c, printer);
    printer.check();
    if (!r.error.empty()) fail("{}", r.error);
    write_stdout("\n\n");
    // A Ctrl-C during the reply ends only the reply, even one that finished at the same moment.
    if (interrupt) interrupt->take();
    if (r.cancelled) std::fputs("note: reply stopped (Ctrl-C); Ctrl-C again at the prompt, or Ctrl-D, quits\n", stderr);
    conversation.add_reply(r.text);
  }
  if (args.stats) {
    const EngineCounters c = engine.counters();
    std::fprintf(stderr, "stats: steps=%llu prefilled_tokens=%llu cached_prefix_tokens=%llu preemptions=%llu\n",
                 (unsigned long long)c.steps, (unsigned long long)c.prefilled_tokens,
                 (unsigned long long)c.cached_prefix_tokens, (unsigned long long)c.preemptions);
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  auto* cmd = app.add_subcommand("chat", "Chat with a model (stdin: one user turn per line; /reset, /exit)");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("--system", args->system, "system message at the start of the conversation");
  cmd->add_flag("--stats", args->stats, "print the engine's counters to stderr at the end");
  add_sampling_options(*cmd, args->sampling);
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
