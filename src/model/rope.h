// RoPE inverse frequencies for a model's scaling type, following Hugging Face transformers'
// definitions (modeling_rope_utils): default, linear, dynamic NTK and Llama 3.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "model/model_config.h"

namespace turbine {

// rotary_dim = int(head_dim * partial_rotary_factor) (even). seq_len matters only for dynamic NTK:
// the longest sequence of the step (context + new tokens), as HF's max position + 1.
RopeTable make_rope_table(const ModelConfig& config, int32_t seq_len);

}  // namespace turbine
