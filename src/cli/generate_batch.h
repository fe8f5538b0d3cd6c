// `turbine generate MODEL --prompts-file FILE`: every non-empty line is a prompt, all run
// concurrently through the engine; one output line per prompt in input order (ids with --ids,
// else the text as a JSON string).
#pragma once
#include <string>

#include "cli/options.h"

namespace turbine::cli {

void generate_prompts_file(const std::string& model_dir, const std::string& prompts_file, bool print_ids,
                           const DeviceOptions& device, const EngineOptions& engine, const SamplingOptions& sampling);

}  // namespace turbine::cli
