#include "model/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include "backend/shape_string.h"
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
  for (size_t i = 0; i < entries_.size(); ++i) {
    const SafetensorsEntry& e = entries_[i];
    if (!index_.emplace(e.name, i).second) fail("{}: tensor '{}' declared twice", path_.string(), e.name);
    header[e.name] = {
        {"dtype", safetensors_dtype(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes()}}};
    offsets_.push_back(offset);
    offset += e.bytes();
  }
  written_.assign(entries_.size(), false);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  for (uint64_t& o : offsets_) o += 8 + text.size();
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
  write_at(next_++, data);
}

void SafetensorsWriter::write(const SafetensorsEntry& entry, const void* data) {
  const auto it = index_.find(entry.name);
  if (it == index_.end()) fail("{}: tensor '{}' was not declared", path_.string(), entry.name);
  const SafetensorsEntry& declared = entries_[it->second];
  if (entry.dtype != declared.dtype || entry.shape != declared.shape)
    fail("{}: tensor '{}' is declared {} {}, given {} {}", path_.string(), entry.name, dtype_name(declared.dtype),
         shape_string(declared.shape), dtype_name(entry.dtype), shape_string(entry.shape));
  write_at(it->second, data);
}

void SafetensorsWriter::write_at(size_t index, const void* data) {
  if (written_[index]) fail("{}: tensor '{}' written twice", path_.string(), entries_[index].name);
  out_.seekp(std::streamoff(offsets_[index]));
  out_.write(static_cast<const char*>(data), std::streamsize(entries_[index].bytes()));
  if (!out_) fail("{}: write failed (disk full?)", partial_.string());
  written_[index] = true;
  ++num_written_;
}

void SafetensorsWriter::finish() {
  if (num_written_ != entries_.size())
    fail("{}: {} of {} tensors written", path_.string(), num_written_, entries_.size());
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
