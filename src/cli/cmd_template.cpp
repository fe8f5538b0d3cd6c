#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_template(CLI::App& app) {
  auto* cmd = app.add_subcommand("template", "(not yet built)");
  cmd->callback([] { fail("template: not built yet"); });
}

}  // namespace turbine::cli
