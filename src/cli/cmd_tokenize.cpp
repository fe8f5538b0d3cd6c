#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "(not yet built)");
  cmd->callback([] { fail("tokenize: not built yet"); });
}

}  // namespace turbine::cli
