// `turbine template MODEL --messages FILE.json [--tools FILE.json] [--no-generation-prompt]
// [--var NAME=JSON]...`: prints the rendered chat prompt exactly, no newline added.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "chat/chat_template.h"

namespace turbine::cli {
namespace {

nlohmann::ordered_json read_json_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{} {}: cannot open the file", flag, path);
  try {
    return nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{} {}: invalid JSON: {}", flag, path, e.what());
  }
}

struct TemplateOptions {
  std::string model;
  std::string messages_file;
  std::string tools_file;
  bool no_generation_prompt = false;
  std::vector<std::string> vars;
};

void run_template(const TemplateOptions& opt) {
  std::filesystem::path dir(opt.model);
  if (!std::filesystem::is_directory(dir)) fail("{}: not a model or tokenizer folder", opt.model);
  const TokenizerConfig config = read_tokenizer_config(dir);
  ChatTemplateInput input = chat_template_input(config);
  input.messages = read_json_file(opt.messages_file, "--messages");
  if (!input.messages.is_array()) fail("--messages {}: expected a JSON array of messages", opt.messages_file);
  if (!opt.tools_file.empty()) {
    input.tools = read_json_file(opt.tools_file, "--tools");
    if (!input.tools.is_array()) fail("--tools {}: expected a JSON array of tool definitions", opt.tools_file);
  }
  input.add_generation_prompt = !opt.no_generation_prompt;
  for (const auto& var : opt.vars) {
    size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0) fail("--var {}: expected NAME=JSON", var);
    try {
      input.extra_vars[var.substr(0, eq)] = nlohmann::ordered_json::parse(var.substr(eq + 1));
    } catch (const nlohmann::json::exception&) {
      fail("--var {}: the value is not valid JSON (quote strings: NAME='\"text\"')", var);
    }
  }
  ChatTemplate tmpl = load_chat_template(dir, config);
  write_stdout(tmpl.render(input));
}

}  // namespace

void register_template(CLI::App& app) {
  auto opt = std::make_shared<TemplateOptions>();
  auto* cmd = app.add_subcommand("template", "Render a conversation with the model's chat template");
  cmd->add_option("model", opt->model, "Model or tokenizer folder")->required();
  cmd->add_option("--messages", opt->messages_file, "JSON file: an array of messages")->required();
  cmd->add_option("--tools", opt->tools_file, "JSON file: an array of tool definitions");
  cmd->add_flag("--no-generation-prompt", opt->no_generation_prompt, "Do not open an assistant turn at the end");
  cmd->add_option("--var", opt->vars, "Extra template variable NAME=JSON (repeatable)");
  cmd->callback([opt] { run_template(*opt); });
}

}  // namespace turbine::cli
