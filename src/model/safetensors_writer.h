// Writes a safetensors file ([u64 little-endian header length][JSON header][data], tensors back to
// back in the order given): what `turbine quantize` produces.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace turbine {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel * dtype_size(dtype) bytes, little-endian
};

// Throws Error naming the file when it cannot be written completely.
void write_safetensors_file(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors);

}  // namespace turbine
