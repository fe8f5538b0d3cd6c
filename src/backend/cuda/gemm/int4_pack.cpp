// Host side of int4_gemm.h's layout: a 4-bit matrix as unpacked values rearranged into the words
// the kernel's lanes load, and its scales and zero points folded into one word per group and row.
#include "backend/cuda/gemm/int4_gemm.h"
#include "core/error.h"

namespace turbine::cuda {
namespace {

// The magic constant whose low mantissa bits take a 4-bit value exactly: 1024 in fp16, 128 in bf16.
uint16_t magic_bits(DType dtype) { return dtype == DType::F16 ? 0x6400 : 0x4300; }

uint16_t scale_bits(uint16_t fp16_scale, DType dtype) {
  if (dtype == DType::F16) return fp16_scale;
  return f32_to_bf16(f16_to_f32(fp16_scale));
}

}  // namespace

Int4Packed pack_int4_layout(const Int4Layout& l, const uint8_t* q, const uint8_t* zeros, const uint16_t* scales,
                            DType dtype) {
  if (dtype != DType::F16 && dtype != DType::BF16)
    fail("4-bit weights on cuda need a float16 or bfloat16 compute dtype, not {}", dtype_name(dtype));
  if (l.group_size <= 0 || l.group_size % 32 != 0 || l.k % l.group_size != 0)
    fail("4-bit weights on cuda need a group size that is a multiple of 32 and divides {} columns, got {}", l.k,
         l.group_size);
  const int64_t n = l.n, k = l.k, groups_in = k / l.group_size;
  const int64_t chunks = l.k_padded() / 64, np = l.n_padded();
  Int4Packed out;
  out.packed.assign(size_t(l.packed_words()), 0u);
  out.scales.assign(size_t(l.scale_words()), 0u);  // padded rows and groups: scale 0, so weight 0
  auto value = [&](int64_t r, int64_t c) -> uint32_t { return r < n && c < k ? q[r * k + c] & 15u : 0u; };
  for (int64_t strip = 0; strip < np / 16; ++strip)
    for (int64_t chunk = 0; chunk < chunks; ++chunk)
      for (int lane = 0; lane < 32; ++lane)
        for (int sub = 0; sub < 4; ++sub) {
          // The k slots of the lane's pairs, as columns of x (int4_gemm.h: the permuted k order).
          const int64_t row = strip * 16 + lane / 4;
          const int64_t col = chunk * 64 + 32 * (sub / 2) + 8 * (lane % 4) + 4 * (sub % 2);
          uint32_t word = 0;
          for (int p = 0; p < 4; ++p) {
            const int64_t r = row + (p & 1) * 8, c = col + (p >> 1) * 2;
            word |= value(r, c) << (4 * p) | value(r, c + 1) << (16 + 4 * p);
          }
          out.packed[size_t(((strip * chunks + chunk) * 32 + lane) * 4 + sub)] = word;
        }
  const uint16_t magic = magic_bits(dtype);
  for (int64_t g = 0; g < groups_in; ++g)
    for (int64_t r = 0; r < n; ++r) {
      const size_t at = size_t(r * groups_in + g);
      const uint32_t zero = uint32_t(magic | (zeros[at] & 15u));
      out.scales[size_t(g * np + r)] = uint32_t(scale_bits(scales[at], dtype)) | zero << 16;
    }
  return out;
}

}  // namespace turbine::cuda
