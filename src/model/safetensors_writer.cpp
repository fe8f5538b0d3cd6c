#include "model/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace turbine {

namespace {

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    default: fail("safetensors: cannot store {}", dtype_name(t));
  }
}

}  // namespace

size_t SafetensorsEntry::bytes() const {
  size_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

SafetensorsWriter::SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsEntry> entries)
    : path_(std::move(path)), partial_(path_.string() + ".partial"), entries_(std::move(entries)) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const SafetensorsEntry& e : entries_) {
    header[e.name] = {
        {"dtype", safetensors_dtype(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes()}}};
    offset += e.bytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  out_.open(partial_, std::ios::binary | std::ios::trunc);
  if (!out_) fail("{}: cannot create", partial_.string());
  const uint64_t n = text.size();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = char((n >> (8 * i)) & 0xff);
  out_.write(len, 8);
  out_.write(text.data(), std::streamsize(text.size()));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (finished_) return;
  out_.close();
  std::error_code ec;
  std::filesystem::remove(partial_, ec);
}

void SafetensorsWriter::write(const void* data, size_t bytes) {
  if (next_ >= entries_.size()) fail("{}: more tensors written than declared", path_.string());
  if (bytes != entries_[next_].bytes())
    fail("{}: tensor '{}' is {} bytes, {} given", path_.string(), entries_[next_].name, entries_[next_].bytes(), bytes);
  out_.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!out_) fail("{}: write failed (disk full?)", partial_.string());
  ++next_;
}

void SafetensorsWriter::finish() {
  if (next_ != entries_.size()) fail("{}: {} of {} tensors written", path_.string(), next_, entries_.size());
  out_.close();
  if (!out_) fail("{}: write failed (disk full?)", partial_.string());
  std::filesystem::rename(partial_, path_);
  finished_ = true;
}

void write_safetensors_file(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors) {
  std::vector<SafetensorsEntry> entries;
  for (const TensorToWrite& t : tensors) entries.push_back({t.name, t.dtype, t.shape});
  SafetensorsWriter writer(path, std::move(entries));
  for (const TensorToWrite& t : tensors) writer.write(t.bytes.data(), t.bytes.size());
  writer.finish();
}

}  // namespace turbine
