#include "cli/commands.h"
#include "core/error.h"

namespace turbine::cli {

void register_perplexity(CLI::App& app) {
  auto* cmd = app.add_subcommand("perplexity", "(not yet built)");
  cmd->callback([] { fail("perplexity: not built yet"); });
}

}  // namespace turbine::cli
