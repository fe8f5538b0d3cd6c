// Writes one safetensors file tensor by tensor into `<path>.partial`, renamed to `path` only when
// complete: an interrupted write never leaves a file that looks whole. The header, written first,
// fixes every tensor's place in the file, so tensors may come in the order declared or, by name, in
// any order (a producer whose order differs from the file's keeps only what it has not written yet).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
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
  // Throws Error naming the file when it cannot be created or a name is declared twice.
  SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsEntry> entries);
  ~SafetensorsWriter();  // removes the partial file when finish() was not reached

  // The next entry's bytes in the declared order (exactly its size).
  void write(const void* data, size_t bytes);
  // A declared entry's bytes (entry.bytes() of them), in any order. Error when the name was not declared
  // or is written already, or the dtype or shape differ from the declaration.
  void write(const SafetensorsEntry& entry, const void* data);
  // After every entry is written: flushes, closes and renames into place.
  void finish();

 private:
  void write_at(size_t index, const void* data);

  std::filesystem::path path_, partial_;
  std::vector<SafetensorsEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> entry
  std::vector<uint64_t> offsets_;                  // from the file's start
  std::vector<bool> written_;
  size_t num_written_ = 0;
  std::ofstream out_;
  size_t next_ = 0;
  bool finished_ = false;
};

// A whole file at once from tensors in memory, in the order given, through SafetensorsWriter.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel * dtype_size(dtype) bytes, little-endian
};
void write_safetensors_file(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors);

}  // namespace turbine
