// One thread per (strip, chunk, lane) of int4_gemm.h's layout: it loads the lane's 16 bytes (its four
// subtiles' words) and the scale words of its rows g and g + 8, dequantizes every pair with the 4-bit
// kernels' own int4_dequant_pair (so the values are bit-identical to their A fragments), and stores each
// pair of adjacent columns as one 32-bit word of the dense row. Padded rows and columns are not stored.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/int4_dequantize.h"
#include "backend/cuda/gemm/int4_fragment.cuh"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads) int4_dequantize_kernel(const uint32_t* packed, const uint32_t* scales,
                                                                   Int4Layout layout, uint32_t* out) {
  const int n = int(layout.n), k = int(layout.k), group = layout.group_size;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;
  const long long index = (long long)blockIdx.x * kThreads + threadIdx.x;  // (strip, chunk, lane)
  pdl_launch_dependents();
  if (index >= (long long)(np / 16) * chunks * 32) return;
  const int lane = int(index % 32), chunk = int(index / 32 % chunks), strip = int(index / 32 / chunks);
  const int g = lane >> 2, t = lane & 3;
  const uint4 raw = load_stream(reinterpret_cast<const uint4*>(packed) + index);
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&raw);
  pdl_wait();  // the output may still be read by the previous kernel
#pragma unroll
  for (int sub = 0; sub < 4; ++sub) {
    const int h = sub / 2;
    const int col = chunk * 64 + 32 * h + 8 * t + 4 * (sub % 2);  // int4_pack.cpp's column of pair 0
    if (col >= k) continue;  // K is a multiple of 32: a padded half chunk is all past the end
    const uint32_t* sw = scales + size_t((chunk * 64 + 32 * h) / group) * np + strip * 16 + g;
#pragma unroll
    for (int p = 0; p < 4; ++p) {
      const uint32_t s = __ldg(sw + (p & 1) * 8);  // row g (pairs 0, 2) or g + 8 (pairs 1, 3)
      const int row = strip * 16 + g + (p & 1) * 8, c = col + (p >> 1) * 2;
      if (row >= n) continue;
      const uint32_t pair = int4_dequant_pair<T>(words[sub], p, __byte_perm(s, 0, 0x1010), __byte_perm(s, 0, 0x3232));
      out[(size_t(row) * k + c) / 2] = pair;  // columns c and c + 1 (c even, k even)
    }
  }
}

}  // namespace

bool launch_int4_dequantize(const uint32_t* packed, const uint32_t* scales, const Int4Layout& layout, DType dtype,
                            void* out, const KernelLaunch& launch) {
  if (layout.n < 1 || layout.k < 1 || layout.k % 32 != 0 || layout.group_size % 32 != 0) return false;
  if (dtype != DType::F16 && dtype != DType::BF16) return false;
  if (!aligned16({packed}) || reinterpret_cast<uintptr_t>(out) % 4 != 0) return false;
  const long long threads = layout.n_padded() / 16 * (layout.k_padded() / 64) * 32;
  const dim3 grid(unsigned((threads + kThreads - 1) / kThreads));
  TURBINE_DISPATCH_HALF(dtype, launch_pdl(int4_dequantize_kernel<T>, grid, kThreads, 0, launch, packed, scales,
                                          layout, static_cast<uint32_t*>(out)));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
