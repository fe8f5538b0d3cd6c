// The compute dtype a model command (--dtype) or the Python pipeline (dtype=) asks for, checked
// against the device: the CPU backend computes in float32, a GPU in float16 or bfloat16.
#pragma once
#include <string>

#include "core/dtype.h"

namespace turbine {

// "" or "auto" -> F32, which load_model_weights reads as "the checkpoint's half type on a GPU, float32
// on the CPU"; a dtype name (core/dtype.h) -> that dtype where `device` computes in it. Throws Error
// naming `name` (the flag or keyword) on anything else.
DType resolve_compute_dtype(const std::string& text, const std::string& device, const std::string& name);

}  // namespace turbine
