// From the shared command-line flags (cli/options.h) to the engine's options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"
#include "engine/engine_options.h"
#include "pipeline/model_folder.h"
#include "text/tokenizer.h"

namespace turbine::cli {

turbine::EngineOptions make_engine_options(const EngineOptions& flags);

// The engine flags with a workspace's tunables in place of those the command line did not give
// (flags as given for a Hugging Face folder).
EngineOptions with_workspace_tunables(const EngineOptions& flags, const LoadedModel& model);

}  // namespace turbine::cli
