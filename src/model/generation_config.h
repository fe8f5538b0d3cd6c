// Defaults from generation_config.json: eos ids and sampling (used only where do_sample is true).
#pragma once
#include <filesystem>
#include <optional>
#include <vector>

namespace turbine {

struct GenerationConfig {
  std::vector<int> eos_token_ids;
  bool do_sample = false;
  std::optional<double> temperature;
  std::optional<int> top_k;
  std::optional<double> top_p;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<int> max_new_tokens;
};

// Reads <dir>/generation_config.json if present (absent: empty defaults); throws Error if malformed.
GenerationConfig load_generation_config(const std::filesystem::path& model_dir);

}  // namespace turbine
