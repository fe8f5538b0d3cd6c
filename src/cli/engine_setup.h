// From the shared command-line flags (cli/options.h) to a running engine: the engine options and
// the prompt ids of a text (BOS as the tokenizer says).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"
#include "engine/engine_options.h"
#include "text/tokenizer.h"

namespace turbine::cli {

turbine::EngineOptions make_engine_options(const EngineOptions& flags);
// Ids of a prompt text, with BOS first when the tokenizer's config adds it.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& text);

}  // namespace turbine::cli
