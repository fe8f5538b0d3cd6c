// Launcher of int4_gemm.cu (W4A16): out[T, N] = x[T, K] @ w[N, K]^T for a group-quantized 4-bit w,
// w[r][c] = (q[r][c] - zero[r][g]) * scale[r][g] with g = c / group_size, x and out in fp16 or bf16.
//
// The weights live in the layout the kernel's tensor-core fragments read (int4_pack.cpp makes it).
// Rows go in strips of 16, columns in chunks of 64; the packed uint32 words are ordered strip, chunk,
// lane (32), 16-wide subtile (4), so a lane reads its four words of a chunk as one 16-byte load.
// - Within a chunk the mma's k order is permuted so that each lane's activations are contiguous: in
//   chunk half h (subtiles 2h, 2h + 1), lane t = lane % 4 reads x columns 32h + 8t .. 32h + 8t + 7 in
//   one 16-byte load, and those are its B fragment's k slots {2t, 2t+1, 2t+8, 2t+9} of subtile 2h,
//   then of 2h + 1. The A fragment uses the same k order, so the sum is unchanged.
// - The word of (strip, chunk, lane, subtile) holds the lane's eight 4-bit values of the mma.sync
//   m16n8k16 A fragment: with g = lane / 4, pair p = 0..3 is rows g, g + 8, g, g + 8 and k slots
//   (2t, 2t + 1), (2t, 2t + 1), (2t + 8, 2t + 9), (2t + 8, 2t + 9); the pair's first value sits in
//   bits 4p..4p+3 and its second in bits 16+4p..19+4p, so `(word >> 4p) & 0x000f000f` or'ed into the
//   bits of 1024 (fp16) or 128 (bf16) is the pair as two halves of 1024 + q (128 + q).
// - scales (uint32): [groups][n_padded], each the compute dtype's scale in the low half and
//   1024 + zero (fp16) or 128 + zero (bf16) in the high half, so w = (h - high) * low, where h - high
//   is q - zero exactly. A 32-column half chunk lies in one group (the group size is a multiple of 32).
// Rows are padded to a multiple of 16 and columns to a multiple of 64 with zero weights (scale 0).
#pragma once
#include <cstdint>
#include <vector>

#include "backend/cuda/common/kernel_launch.h"
#include "core/dtype.h"

namespace turbine::cuda {

// The padded extents of the layout above.
struct Int4Layout {
  int64_t n = 0, k = 0;
  int group_size = 0;
  int64_t n_padded() const { return (n + 15) / 16 * 16; }
  int64_t k_padded() const { return (k + 63) / 64 * 64; }
  int64_t groups() const { return (k_padded() + group_size - 1) / group_size; }
  int64_t packed_words() const { return n_padded() * k_padded() / 8; }
  int64_t scale_words() const { return groups() * n_padded(); }
};

// Host repacking into the layout (int4_pack.cpp). q [n][k] and zeros [n][k / group] hold values 0..15,
// scales [n][k / group] fp16 bits; `dtype` is the compute dtype the scales are stored in. Throws Error
// naming what the kernel cannot take (a group size that is not a multiple of 32 or does not divide k).
struct Int4Packed {
  std::vector<uint32_t> packed, scales;
};
Int4Packed pack_int4_layout(const Int4Layout& layout, const uint8_t* q, const uint8_t* zeros, const uint16_t* scales,
                            DType dtype);

struct Int4GemmArgs {
  const void* x = nullptr;       // [T, K] in dtype
  const uint32_t* w = nullptr;   // packed
  const uint32_t* scales = nullptr;
  const void* bias = nullptr;    // [N] in dtype, or null
  void* out = nullptr;           // [T, N] in dtype or fp32
  DType dtype = DType::F16, out_dtype = DType::F16;
  int tokens = 0;
  Int4Layout layout;
  // x written in B order (int4_b_order.h), which only the wgmma GEMM's 64-token tiles take: every
  // other launcher refuses it.
  bool x_b_order = false;
};
// Returns false (nothing launched) when x or out are not 4-byte aligned or a dtype is not taken.
bool launch_int4_gemm(const Int4GemmArgs& args, const KernelLaunch& launch);

}  // namespace turbine::cuda
