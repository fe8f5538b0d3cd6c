#include "model/rank_file_int4.h"

#include <cstring>

#include "core/error.h"

namespace turbine {

namespace {

int64_t words_per_row(int64_t cols) { return (cols + 7) / 8; }

const TensorView& typed(const Checkpoint& file, const std::string& name, const std::vector<int64_t>& shape,
                        DType dtype) {
  const TensorView& v = file.get(name, shape);
  if (v.dtype != dtype)
    fail("{}: tensor '{}' is {}, a workspace stores it as {}", v.file.string(), name, dtype_name(v.dtype),
         dtype_name(dtype));
  return v;
}

// The inverse of pack_nibble_rows. A mapped tensor's data need not be aligned for int32 reads: copied first.
std::vector<uint8_t> unpack_nibble_rows(const TensorView& v, int64_t rows, int64_t cols) {
  const int64_t words = words_per_row(cols);
  std::vector<uint32_t> packed(size_t(rows * words));
  std::memcpy(packed.data(), v.data, packed.size() * sizeof(uint32_t));
  std::vector<uint8_t> out(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[size_t(r * cols + c)] = uint8_t((packed[size_t(r * words + c / 8)] >> (4 * (c % 8))) & 15u);
  return out;
}

}  // namespace

std::vector<SafetensorsEntry> int4_rank_entries(const std::string& name, int64_t n, int64_t k, int group_size) {
  const int64_t groups = k / group_size;
  return {{name + ".q4", DType::I32, {n, words_per_row(k)}},
          {name + ".zeros", DType::I32, {n, words_per_row(groups)}},
          {name + ".scales", DType::F16, {n, groups}}};
}

std::vector<int32_t> pack_nibble_rows(const std::vector<uint8_t>& values, int64_t rows, int64_t cols) {
  const int64_t words = words_per_row(cols);
  std::vector<int32_t> out(size_t(rows * words), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[size_t(r * words + c / 8)] |= int32_t(uint32_t(values[size_t(r * cols + c)] & 15u) << (4 * (c % 8)));
  return out;
}

HostInt4Matrix read_int4_rank_tensor(const Checkpoint& file, const std::string& name, int64_t n, int64_t k,
                                     int group_size) {
  if (group_size <= 0 || k % group_size != 0)
    fail("{}: a [{}, {}] projection cannot hold 4-bit groups of {} columns", name, n, k, group_size);
  const std::vector<SafetensorsEntry> entries = int4_rank_entries(name, n, k, group_size);
  const TensorView& q = typed(file, entries[0].name, entries[0].shape, entries[0].dtype);
  const TensorView& zeros = typed(file, entries[1].name, entries[1].shape, entries[1].dtype);
  const TensorView& scales = typed(file, entries[2].name, entries[2].shape, entries[2].dtype);
  HostInt4Matrix m;
  m.n = n;
  m.k = k;
  m.group_size = group_size;
  m.q = unpack_nibble_rows(q, n, k);
  m.zeros = unpack_nibble_rows(zeros, n, k / group_size);
  m.scales.resize(size_t(scales.numel()));
  std::memcpy(m.scales.data(), scales.data, scales.bytes);
  return m;
}

}  // namespace turbine
