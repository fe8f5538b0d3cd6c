// `turbine serve MODEL`: the OpenAI-compatible HTTP server (src/server/). The model's sampling
// defaults and stop ids are resolved here as `generate` and `chat` resolve them; the server's own
// flags become a ServerOptions.
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "core/error.h"
#include "engine/engine.h"
#include "chat/chat_end_of_turn.h"
#include "chat/chat_template.h"
#include "pipeline/model_folder.h"
#include "server/serve_loop.h"

namespace turbine::cli {

namespace {

struct ServeArgs {
  std::string model;
  std::string chat_template;
  server::ServerOptions server;
  DeviceOptions device;
  EngineOptions engine;
  SamplingOptions sampling;
};

std::optional<ChatTemplate> open_chat_template(const ServeArgs& args) {
  if (!args.chat_template.empty()) {
    std::ifstream in(args.chat_template, std::ios::binary);
    if (!in) fail("--chat-template: cannot read '{}'", args.chat_template);
    std::stringstream text;
    text << in.rdbuf();
    try {
      return ChatTemplate(text.str());
    } catch (const Error& e) {
      fail("--chat-template '{}': {}", args.chat_template, e.what());
    }
  }
  try {
    return load_chat_template(args.model);
  } catch (const Error&) {
    return std::nullopt;  // chat requests are answered 400 unless --chat-template is given
  }
}

void run(ServeArgs args) {
  server::raise_open_file_limit();
  LoadedModel m = open_model_folder(args.model);
  const std::optional<ChatTemplate> tmpl = open_chat_template(args);
  server::ServedModel served;
  served.name = args.server.served_model_name;
  if (served.name.empty()) served.name = std::filesystem::path(args.model).lexically_normal().filename().string();
  if (served.name.empty()) served.name = std::filesystem::absolute(args.model).parent_path().filename().string();
  served.tokenizer = m.tokenizer.get();
  served.vocab_size = m.config.vocab_size;
  served.chat_template = tmpl ? &*tmpl : nullptr;
  served.defaults = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);
  if (tmpl)
    if (auto eot = chat_end_of_turn_token(*tmpl, *m.tokenizer)) served.chat_stop_ids.push_back(*eot);
  args.server.max_batch_size = args.engine.max_batch_size;
  std::unique_ptr<Engine> engine;
  server::serve(args.server, [&]() -> const server::ServedModel* {
    load_model_weights(m, resolve_backend(args.device, args.engine));
    engine = std::make_unique<Engine>(*m.model, *m.tokenizer, make_engine_options(args.engine));
    served.engine = engine.get();
    return &served;
  });
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (chat, completions, LMDeploy's /generate)");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  server::ServerOptions& s = args->server;
  cmd->add_option("--host", s.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", s.port, "port to listen on (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--api-keys", s.api_keys, "accept only requests with 'Authorization: Bearer KEY' (any of these)");
  cmd->add_option("--served-model-name", s.served_model_name, "model id clients name (default: the folder's name)");
  cmd->add_option("--max-queue", s.max_queue, "requests that may wait beyond the running batch; more get 429")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--drain-timeout", s.drain_timeout_seconds,
                  "on SIGTERM/SIGINT, seconds in-flight requests may still run before they are cancelled")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--chat-template", args->chat_template, "Jinja chat template file (overrides the model's)");
  cmd->add_option("--allow-origins", s.allow_origins, "CORS: origins allowed to call the API ('*' for any)");
  cmd->add_option("--io-threads", s.io_threads, "threads serving HTTP connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--idle-timeout", s.idle_timeout_seconds,
                  "seconds a connection may stay quiet between requests (or while sending one) before it is closed")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 86400.0));
  add_sampling_options(*cmd, args->sampling);
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
