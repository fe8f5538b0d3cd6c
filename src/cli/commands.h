// Each `turbine` subcommand lives in its own cmd_<name>.cpp and registers itself here.
#pragma once
#include <CLI/CLI.hpp>

namespace turbine::cli {

void register_generate(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_detokenize(CLI::App& app);
void register_perplexity(CLI::App& app);
void register_template(CLI::App& app);
void register_chat(CLI::App& app);
void register_serve(CLI::App& app);
void register_client(CLI::App& app);
void register_quantize(CLI::App& app);
void register_convert(CLI::App& app);
// `bench` groups the benchmarks; each adds itself to it.
void register_bench_generate(CLI::App& bench);
void register_bench_throughput(CLI::App& bench);
void register_bench_serve(CLI::App& bench);

}  // namespace turbine::cli
