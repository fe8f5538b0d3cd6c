// From the shared command-line flags (cli/options.h) to the engine's options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"
#include "engine/engine_options.h"
#include "text/tokenizer.h"

namespace turbine::cli {

turbine::EngineOptions make_engine_options(const EngineOptions& flags);

}  // namespace turbine::cli
