// safetensors layout: [u64 little-endian header length N][N bytes of JSON header][data].
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)} relative to the
// data section. Everything in it is checked against the file before any tensor is used.
#include "model/checkpoint.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace turbine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool parse_safetensors_dtype(const std::string& name, DType& out) {
  if (name == "F32")
    out = DType::F32;
  else if (name == "F16")
    out = DType::F16;
  else if (name == "BF16")
    out = DType::BF16;
  else if (name == "I32")  // AWQ's packed 4-bit weights and zero points
    out = DType::I32;
  else
    return false;
  return true;
}

// Parses and validates one file's header; adds its tensors to `tensors`.
void index_file(const std::shared_ptr<MappedFile>& file, std::unordered_map<std::string, TensorView>& tensors,
                std::set<std::string>& unsupported) {
  const std::string fname = file->path().string();
  if (file->size() < 8) fail("{}: truncated safetensors file ({} bytes, no header)", fname, file->size());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(file->data()[i]);
  if (header_len > kMaxHeaderBytes || header_len > file->size() - 8)
    fail("{}: header length {} exceeds the file size {}", fname, header_len, file->size());
  json header;
  try {
    header = json::parse(file->data() + 8, file->data() + 8 + header_len);
  } catch (const json::exception& e) {
    fail("{}: malformed safetensors header: {}", fname, e.what());
  }
  if (!header.is_object()) fail("{}: safetensors header is not a JSON object", fname);
  const char* data_start = file->data() + 8 + header_len;
  const uint64_t data_size = file->size() - 8 - header_len;

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& why) { fail("{}: tensor '{}': {}", fname, name, why); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      bad("entry needs dtype, shape and data_offsets");
    const auto& offsets = entry["data_offsets"];
    if (!entry["dtype"].is_string() || !entry["shape"].is_array() || !offsets.is_array() || offsets.size() != 2 ||
        !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      bad("malformed dtype, shape or data_offsets");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size)
      bad(fmt::format("data_offsets [{}, {}) outside the {}-byte data section (truncated file?)", begin, end,
                      data_size));
    ranges.emplace_back(begin, end);
    TensorView view;
    view.name = name;
    view.file = file->path();
    uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) bad("shape has a negative or non-integer dimension");
      view.shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
      if (numel > (uint64_t(1) << 40)) bad("shape is implausibly large");
    }
    const std::string dtype_name_str = entry["dtype"].get<std::string>();
    if (!parse_safetensors_dtype(dtype_name_str, view.dtype)) {
      unsupported.insert(name + " (" + dtype_name_str + ")");
      continue;
    }
    if (numel * dtype_size(view.dtype) != end - begin)
      bad(fmt::format("shape {} of {} needs {} bytes but data_offsets span {}", shape_string(view.shape),
                      dtype_name_str, numel * dtype_size(view.dtype), end - begin));
    view.data = data_start + begin;
    view.bytes = end - begin;
    if (!tensors.emplace(name, std::move(view)).second) bad("appears in more than one file");
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("{}: tensors' data_offsets overlap", fname);
}

std::vector<fs::path> checkpoint_files(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a model folder", dir.string());
  const fs::path single = dir / "model.safetensors";
  if (fs::exists(single)) return {single};
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    json index;
    try {
      index = json::parse(read_text_file(index_path));
    } catch (const json::exception& e) {
      fail("{}: malformed JSON: {}", index_path.string(), e.what());
    }
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      fail("{}: missing field 'weight_map'", index_path.string());
    std::set<std::string> names;
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string()) fail("{}: weight_map['{}'] is not a file name", index_path.string(), tensor);
      const std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f == "..")
        fail("{}: weight_map['{}'] names a file outside the folder", index_path.string(), tensor);
      names.insert(f);
    }
    if (names.empty()) fail("{}: weight_map is empty", index_path.string());
    std::vector<fs::path> files;
    for (const auto& n : names) {
      if (!fs::exists(dir / n))
        fail("{}: shard listed in {} is missing", (dir / n).string(), index_path.filename().string());
      files.push_back(dir / n);
    }
    return files;
  }
  if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
    fail("{}: only PyTorch .bin weights found; turbine reads safetensors (model.safetensors)", dir.string());
  fail("{}: no model.safetensors or model.safetensors.index.json", dir.string());
}

}  // namespace

Checkpoint Checkpoint::open(const fs::path& model_dir) {
  Checkpoint ckpt;
  ckpt.dir_ = model_dir;
  std::set<std::string> unsupported;
  for (const auto& path : checkpoint_files(model_dir)) {
    auto file = std::make_shared<MappedFile>(path);
    index_file(file, ckpt.tensors_, unsupported);
    ckpt.files_.push_back(std::move(file));
  }
  const fs::path index_path = model_dir / "model.safetensors.index.json";
  if (ckpt.files_.size() > 1 || (!fs::exists(model_dir / "model.safetensors") && fs::exists(index_path))) {
    // Every tensor the index promises must be in the file it names.
    const json index = json::parse(read_text_file(index_path));
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      auto it = ckpt.tensors_.find(tensor);
      if (it == ckpt.tensors_.end()) {
        bool skipped = false;
        for (const auto& u : unsupported) skipped |= u.rfind(tensor + " (", 0) == 0;
        if (!skipped)
          fail("{}: tensor '{}' listed in the index is missing from {}", index_path.string(), tensor,
               file.get<std::string>());
      } else if (it->second.file.filename() != file.get<std::string>()) {
        fail("{}: tensor '{}' is in {}, not in {} as the index says", index_path.string(), tensor,
             it->second.file.filename().string(), file.get<std::string>());
      }
    }
  }
  ckpt.unsupported_ = std::vector<std::string>(unsupported.begin(), unsupported.end());
  return ckpt;
}

Checkpoint Checkpoint::open_file(const fs::path& file) {
  if (!fs::is_regular_file(file)) fail("{}: no such file", file.string());
  Checkpoint ckpt;
  ckpt.dir_ = file;
  std::set<std::string> unsupported;
  auto mapped = std::make_shared<MappedFile>(file);
  index_file(mapped, ckpt.tensors_, unsupported);
  ckpt.files_.push_back(std::move(mapped));
  ckpt.unsupported_ = std::vector<std::string>(unsupported.begin(), unsupported.end());
  return ckpt;
}

bool Checkpoint::contains(std::string_view name) const { return tensors_.count(std::string(name)) > 0; }

const TensorView& Checkpoint::get(std::string_view name) const {
  auto it = tensors_.find(std::string(name));
  if (it != tensors_.end()) return it->second;
  for (const auto& u : unsupported_)
    if (u.rfind(std::string(name) + " (", 0) == 0)
      fail("{}: tensor {} has a dtype turbine does not read (F32, F16, BF16, and I32 for AWQ's packed weights)",
           dir_.string(), u);
  fail("{}: tensor '{}' is missing from the checkpoint", dir_.string(), name);
}

const TensorView& Checkpoint::get(std::string_view name, const std::vector<int64_t>& expected_shape) const {
  const TensorView& t = get(name);
  if (t.shape != expected_shape)
    fail("{}: tensor '{}' has shape {}, the config implies {}", t.file.string(), name, shape_string(t.shape),
         shape_string(expected_shape));
  return t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : tensors_) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

size_t Checkpoint::total_bytes() const {
  size_t total = 0;
  for (const auto& [_, t] : tensors_) total += t.bytes;
  return total;
}

}  // namespace turbine
