#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_detokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("detokenize", "(not yet built)");
  cmd->callback([] { fail("detokenize: not built yet"); });
}

}  // namespace turbine::cli
