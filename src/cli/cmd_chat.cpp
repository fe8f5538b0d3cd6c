#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_chat(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "(not yet built)");
  cmd->callback([] { fail("chat: not built yet"); });
}

}  // namespace turbine::cli
