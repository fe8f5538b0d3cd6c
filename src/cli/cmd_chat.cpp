// `turbine chat MODEL`: a conversation through the model's chat template and one engine session,
// so each turn prefills only its new tokens. Over a pipe every input line is one user turn; the
// reply is printed, then a blank line. `/reset` starts over, `/exit` (or end of input) quits.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
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

// Prints a reply as it streams, without its leading and trailing white space (the blank line
// after each reply is what separates turns over a pipe).
class ReplyPrinter {
 public:
  void add(const std::string& text) {
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (space) {
        if (started_) pending_ += c;
        continue;
      }
      started_ = true;
      std::fwrite(pending_.data(), 1, pending_.size(), stdout);
      pending_.clear();
      std::fputc(c, stdout);
    }
    std::fflush(stdout);
  }

 private:
  bool started_ = false;
  std::string pending_;
};

void run(const ChatArgs& args) {
  LoadedModel m = open_model_folder(args.model);
  const ChatTemplate tmpl = load_chat_template(args.model, m.tokenizer->config);
  SamplingParams params = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);
  if (auto eot = chat_end_of_turn_token(tmpl, *m.tokenizer)) params.stop_ids.push_back(*eot);
  load_model_weights(m, resolve_backend(args.device, args.engine));
  Engine engine(*m.model, *m.tokenizer, make_engine_options(args.engine));

  const bool interactive = isatty(STDIN_FILENO);
  uint64_t session = 1;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  // The conversation's ids as the session's cache holds them: each turn's prompt + the ids the
  // model generated (the stop id included), so the next turn prefills only its new tokens.
  std::vector<int32_t> history;
  auto reset = [&] {
    engine.end_session(session++);
    messages = nlohmann::ordered_json::array();
    history.clear();
    if (!args.system.empty()) messages.push_back({{"role", "system"}, {"content", args.system}});
  };
  reset();
  std::string line;
  for (;;) {
    if (interactive) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit") break;
    if (line == "/reset") {
      reset();
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    ChatTemplateInput in = chat_template_input(m.tokenizer->config);
    in.messages = messages;
    // The rendered conversation carries its own BOS where the template writes one.
    const std::vector<int32_t> ids = chat_prompt_ids(*m.tokenizer, history, tmpl.render(in)).ids;
    if (int64_t(ids.size()) >= engine.session_len())
      fail("chat: the conversation has {} tokens, the context holds {} (--session-len); use /reset", ids.size(),
           engine.session_len());
    ReplyPrinter printer;
    history = ids;
    auto on_output = [&](const RequestOutput& out) {
      printer.add(out.text);
      if (out.token) history.push_back(*out.token);
    };
    const RequestResult r = engine.submit(Request{ids, params, session, on_output}).wait();
    if (!r.error.empty()) fail("{}", r.error);
    std::fputs("\n\n", stdout);
    std::fflush(stdout);
    messages.push_back({{"role", "assistant"}, {"content", r.text}});
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
