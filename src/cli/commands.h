// Each `turbine` subcommand lives in its own cmd_<name>.cpp and registers itself here.
#pragma once
#include <CLI/CLI.hpp>

namespace turbine::cli {

void register_generate(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_detokenize(CLI::App& app);
void register_perplexity(CLI::App& app);

}  // namespace turbine::cli
