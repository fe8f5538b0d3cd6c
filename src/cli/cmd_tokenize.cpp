// `turbine tokenize MODEL TEXT | --file PATH`: ids without BOS, space-separated, one line.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::optional<std::string> text;
  std::optional<std::string> file;
};

std::string read_input(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    if (std::filesystem::is_directory(path)) fail("--file {}: is a folder", path);
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("--file {}: cannot open", path);
    buffer << in.rdbuf();
  }
  return buffer.str();
}

void run(const TokenizeArgs& args) {
  if (args.text && args.file) fail("give TEXT or --file, not both");
  if (!args.text && !args.file) fail("give TEXT or --file PATH (- reads standard input)");
  auto tok = load_folder_tokenizer(args.model);
  const std::string text = args.text ? *args.text : read_input(*args.file);
  std::string out;
  for (int32_t id : tok->encode(text)) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  out += '\n';
  write_stdout(out);
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (without BOS)");
  cmd->add_option("MODEL", args->model, "model or tokenizer folder")->required();
  cmd->add_option("TEXT", args->text, "text to tokenize");
  cmd->add_option("--file", args->file, "read the text from a file (- = standard input)");
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
