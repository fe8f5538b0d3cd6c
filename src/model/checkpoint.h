// The tensors of a Hugging Face checkpoint: model.safetensors, or shards listed in
// model.safetensors.index.json, memory-mapped (nothing is read until a tensor is used).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"

namespace turbine {

class MappedFile;

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // inside the mapped file
  size_t bytes = 0;
  std::filesystem::path file;  // for error messages
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

class Checkpoint {
 public:
  // Opens every safetensors file of the folder and validates each header against its file
  // size (offsets in range, sizes = numel * dtype size, no overlaps). Throws Error naming the file.
  static Checkpoint open(const std::filesystem::path& model_dir);
  // One safetensors file on its own (a workspace's rank file), validated the same way.
  static Checkpoint open_file(const std::filesystem::path& file);

  bool contains(std::string_view name) const;
  // Throws Error naming the tensor (and the folder) when absent.
  const TensorView& get(std::string_view name) const;
  // Like get, and checks the shape; throws Error naming tensor, expected and actual shape.
  const TensorView& get(std::string_view name, const std::vector<int64_t>& expected_shape) const;
  std::vector<std::string> names() const;
  size_t total_bytes() const;

 private:
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::unordered_map<std::string, TensorView> tensors_;
  std::filesystem::path dir_;
  std::vector<std::string> unsupported_;  // "name (DTYPE)" of tensors in dtypes turbine does not read
};

}  // namespace turbine
