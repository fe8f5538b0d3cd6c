#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_bench_generate(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("generate", "(not yet built)");
  cmd->callback([] { fail("generate: not built yet"); });
}

}  // namespace turbine::cli
