// `turbine serve MODEL`: the OpenAI-compatible HTTP server (src/server/). The model's sampling
// defaults and stop ids are resolved here as `generate` and `chat` resolve them; the server's own
// flags become a ServerOptions.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/log.h"
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
  std::string tool_call_parser, reasoning_parser;  // names of server::ToolCallFormat / ReasoningFormat
  server::ServerOptions server;
  DeviceOptions device;
  EngineOptions engine;
  SamplingOptions sampling;
};

// The model's own template, or --chat-template's. A model without a usable one is still served
// (completions, /generate); `problem` says why chat requests will be refused.
std::optional<ChatTemplate> open_chat_template(const ServeArgs& args, std::string& problem) {
  if (!args.chat_template.empty()) {
    try {
      return read_chat_template_file(args.chat_template);
    } catch (const Error& e) {
      fail("--chat-template {}", e.what());
    }
  }
  try {
    return load_chat_template(args.model);
  } catch (const Error& e) {
    problem = e.what();
    log(LogLevel::Warning, "chat requests will be refused: {} (give --chat-template FILE)", problem);
    return std::nullopt;
  }
}

// The enum a checked flag value names ("" = not given).
template <typename Format>
std::optional<Format> format_named(const std::vector<std::pair<std::string, Format>>& names, const std::string& name) {
  for (const auto& [n, format] : names)
    if (n == name) return format;
  return std::nullopt;
}

template <typename Format>
std::vector<std::string> names_of(const std::vector<std::pair<std::string, Format>>& names) {
  std::vector<std::string> out;
  for (const auto& entry : names) out.push_back(entry.first);
  return out;
}

void run(ServeArgs args) {
  args.server.tool_call_parser = format_named(server::tool_call_format_names(), args.tool_call_parser);
  args.server.reasoning_parser = format_named(server::reasoning_format_names(), args.reasoning_parser);
  server::raise_open_file_limit();
  LoadedModel m = open_model_folder(args.model);
  const EngineOptions engine_flags = with_workspace_tunables(args.engine, m);
  std::string template_problem;
  const std::optional<ChatTemplate> tmpl = open_chat_template(args, template_problem);
  server::ServedModel served;
  served.name = args.server.served_model_name;
  if (served.name.empty()) served.name = std::filesystem::path(args.model).lexically_normal().filename().string();
  if (served.name.empty()) served.name = std::filesystem::absolute(args.model).parent_path().filename().string();
  served.tokenizer = m.tokenizer.get();
  served.vocab_size = m.config.vocab_size;
  served.chat_template = tmpl ? &*tmpl : nullptr;
  served.chat_template_problem = template_problem;
  served.defaults = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);
  if (tmpl)
    if (auto eot = chat_end_of_turn_token(*tmpl, *m.tokenizer)) served.chat_stop_ids.push_back(*eot);
  args.server.max_batch_size = engine_flags.max_batch_size;
  std::unique_ptr<Engine> engine;
  server::serve(args.server, [&]() -> const server::ServedModel* {
    load_model_weights(m, resolve_backend(args.device, engine_flags));
    engine = std::make_unique<Engine>(*m.model, *m.tokenizer, make_engine_options(engine_flags));
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
  cmd->add_option("--tool-call-parser", args->tool_call_parser,
                  "turn the tool calls a model writes into tool_calls (chat requests with tools): llama3 or qwen")
      ->check(CLI::IsMember(names_of(server::tool_call_format_names())));
  cmd->add_option("--reasoning-parser", args->reasoning_parser,
                  "move a chat reply's <think> text into reasoning_content: qwen3 or deepseek-r1")
      ->check(CLI::IsMember(names_of(server::reasoning_format_names())));
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
