// Writes small safetensors files for tests (including deliberately broken ones).
#pragma once
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace turbine::test {

struct FakeTensor {
  std::string name;
  std::string dtype = "F32";  // as written in the header
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // raw data
};

FakeTensor f32_tensor(const std::string& name, std::vector<int64_t> shape, float start = 0.0f);
// F32 values drawn uniformly from [lo, hi).
FakeTensor random_tensor(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float lo = -0.5f,
                         float hi = 0.5f);

// The JSON header text for these tensors, laid out back to back.
std::string safetensors_header(const std::vector<FakeTensor>& tensors);
// Writes [len][header][data]; `header` overrides the computed one when non-empty.
void write_safetensors(const std::filesystem::path& path, const std::vector<FakeTensor>& tensors,
                       const std::string& header = "");

// A fresh empty directory under the system temp folder, removed when the test process exits.
std::filesystem::path temp_dir(const std::string& tag);

}  // namespace turbine::test
