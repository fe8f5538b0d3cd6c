// The folder `turbine quantize` writes: a complete Hugging Face model folder that every command
// accepts as MODEL (config.json with AutoAWQ's quantization_config, model.safetensors, and the source
// folder's other files: tokenizer, generation config, chat template).
#pragma once
#include <filesystem>
#include <vector>

#include "model/awq_quantizer.h"
#include "model/checkpoint.h"
#include "model/model_config.h"

namespace turbine {

// Error unless `out` can take a new model folder: absent, or an empty folder (checked before any work).
void check_output_folder(const std::filesystem::path& out);

// Quantizes `checkpoint`, the model of the folder `source` (quantize_checkpoint), into the new folder
// `out`. model.safetensors' header comes from quantized_checkpoint_layout and each tensor is written
// the moment it is final, so memory holds about one layer's work beyond the mapped source. Everything
// goes into a hidden temporary folder beside `out`, renamed into place when complete, so an error (a
// full disk, a failure part way) leaves no partial folder behind.
void write_awq_model_folder(const std::filesystem::path& source, const std::filesystem::path& out,
                            const ModelConfig& config, const Checkpoint& checkpoint,
                            const std::vector<int32_t>& calibration, const QuantizeOptions& options,
                            const QuantizeProgress& progress = {});

}  // namespace turbine
