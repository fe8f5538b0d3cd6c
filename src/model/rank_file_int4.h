// How a workspace's rank file stores a 4-bit projection (a HostInt4Matrix of n rows, k columns and
// group size G) under its rank tensor's name <name> (model/rank_weights.h):
//   <name>.q4      int32 [n, k / 8]             the codes, eight consecutive columns of a row per word:
//                                               nibble i (bits 4i..4i+3) of word j holds column 8j + i
//   <name>.zeros   int32 [n, ceil(k / G / 8)]   the zero points of the row's groups, packed the same way
//                                               (the nibbles past the last group are 0)
//   <name>.scales  fp16  [n, k / G]
// Two codes per byte, in the row order the model computes with: loading only widens the nibbles
// back into a HostInt4Matrix for Backend::pack_int4.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/safetensors_writer.h"

namespace turbine {

// The three tensors' entries, in the order they are written.
std::vector<SafetensorsEntry> int4_rank_entries(const std::string& name, int64_t n, int64_t k, int group_size);

// values [rows][cols] (0..15) -> [rows][ceil(cols / 8)] words, nibble i of word j = column 8j + i.
std::vector<int32_t> pack_nibble_rows(const std::vector<uint8_t>& values, int64_t rows, int64_t cols);

// The projection `name` of the listed [n, k] shape from a rank file. Error naming the file and the
// tensor when one of the three is missing or has another shape or dtype.
HostInt4Matrix read_int4_rank_tensor(const Checkpoint& file, const std::string& name, int64_t n, int64_t k,
                                     int group_size);

}  // namespace turbine
