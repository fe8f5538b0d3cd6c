// AutoAWQ's "GEMM" checkpoint layout (quant_method awq, version gemm, zero_point true), the format of
// AWQ models on the Hugging Face hub. For a linear layer of n outputs and k inputs, group size G:
//   <name>.qweight  int32 [k, n / 8]      eight 4-bit values of one input row, outputs 8j..8j+7,
//   <name>.qzeros   int32 [k / G, n / 8]  the zero points, packed the same way,
//   <name>.scales   fp16  [k / G, n]
// where nibble i (bits 4i..4i+3) of a packed word holds output 8j + kAwqPackOrder[i]: AutoAWQ packs
// outputs in the interleaved order 0 2 4 6 1 3 5 7 (its kernels' dequantization order).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace turbine {

inline constexpr std::array<int, 8> kAwqPackOrder = {0, 2, 4, 6, 1, 3, 5, 7};

struct AwqTensors {
  int64_t n = 0, k = 0;
  int group_size = 0;
  std::vector<int32_t> qweight;  // [k][n / 8]
  std::vector<int32_t> qzeros;   // [k / G][n / 8]
  std::vector<uint16_t> scales;  // [k / G][n], fp16 bits
};

// n must be a multiple of 8 and group_size divide k (Error otherwise).
AwqTensors pack_awq(const HostInt4Matrix& m);
// The inverse (n a multiple of 8, group_size dividing k; Error otherwise).
HostInt4Matrix unpack_awq(const int32_t* qweight, const int32_t* qzeros, const uint16_t* scales, int64_t n, int64_t k,
                          int group_size);

}  // namespace turbine
