#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "(not yet built)");
  cmd->callback([] { fail("generate: not built yet"); });
}

}  // namespace turbine::cli
