#include "support/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>
#include <unistd.h>

namespace turbine::test {

FakeTensor f32_tensor(const std::string& name, std::vector<int64_t> shape, float start) {
  FakeTensor t{name, "F32", shape, {}};
  int64_t n = 1;
  for (auto d : shape) n *= d;
  t.bytes.resize(size_t(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    const float v = start + float(i);
    std::memcpy(t.bytes.data() + i * 4, &v, 4);
  }
  return t;
}

FakeTensor random_tensor(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float lo, float hi) {
  FakeTensor t{name, "F32", shape, {}};
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::uniform_real_distribution<float> dist(lo, hi);
  t.bytes.resize(size_t(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    std::memcpy(t.bytes.data() + i * 4, &v, 4);
  }
  return t;
}

std::string safetensors_header(const std::vector<FakeTensor>& tensors) {
  nlohmann::ordered_json h;
  h["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const auto& t : tensors) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  return h.dump();
}

void write_safetensors(const std::filesystem::path& path, const std::vector<FakeTensor>& tensors,
                       const std::string& header) {
  const std::string text = header.empty() ? safetensors_header(tensors) : header;
  std::ofstream out(path, std::ios::binary);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out.put(char((len >> (8 * i)) & 0xff));
  out << text;
  for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
}

namespace {
// Removes every folder temp_dir made when the test process ends.
struct TempDirs {
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs instance;
  return instance;
}
}  // namespace

std::filesystem::path temp_dir(const std::string& tag) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  auto dir = std::filesystem::temp_directory_path() /
             ("turbine-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(rng() % 1000000));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  temp_dirs().dirs.push_back(dir);
  return dir;
}

}  // namespace turbine::test
