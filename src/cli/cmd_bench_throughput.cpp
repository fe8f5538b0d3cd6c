#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_bench_throughput(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("throughput", "(not yet built)");
  cmd->callback([] { fail("throughput: not built yet"); });
}

}  // namespace turbine::cli
