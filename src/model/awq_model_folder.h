// The folder `turbine quantize` writes: a complete Hugging Face model folder that every command
// accepts as MODEL (config.json with AutoAWQ's quantization_config, model.safetensors, and the source
// folder's other files: tokenizer, generation config, chat template).
#pragma once
#include <filesystem>
#include <vector>

#include "model/safetensors_writer.h"

namespace turbine {

// Error unless `out` can take a new model folder: absent, or an empty folder (checked before any work).
void check_output_folder(const std::filesystem::path& out);

// Writes everything into a hidden temporary folder beside `out` and renames it into place, so an
// error (a full disk) leaves no partial folder behind. `source` is the unquantized model's folder.
void write_awq_model_folder(const std::filesystem::path& source, const std::filesystem::path& out,
                            const std::vector<TensorToWrite>& tensors, int group_size);

}  // namespace turbine
