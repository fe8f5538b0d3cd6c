// Writes one safetensors file tensor by tensor (the header first, then each tensor's bytes in the
// order declared), into `<path>.partial`, renamed to `path` only when complete: an interrupted
// write never leaves a file that looks whole.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace turbine {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t bytes() const;
};

class SafetensorsWriter {
 public:
  // Throws Error naming the file when it cannot be created.
  SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsEntry> entries);
  ~SafetensorsWriter();  // removes the partial file when finish() was not reached

  // The next entry's bytes (exactly its size).
  void write(const void* data, size_t bytes);
  // After the last entry: flushes, closes and renames into place.
  void finish();

 private:
  std::filesystem::path path_, partial_;
  std::vector<SafetensorsEntry> entries_;
  std::ofstream out_;
  size_t next_ = 0;
  bool finished_ = false;
};

// A whole file at once from tensors in memory (what `turbine quantize` writes), through SafetensorsWriter.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel * dtype_size(dtype) bytes, little-endian
};
void write_safetensors_file(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors);

}  // namespace turbine
