// One thread per (strip, chunk, lane) of int4_gemm.h's layout: it loads the lane's 16 bytes (its four
// subtiles' words) and the scale words of its rows g and g + 8, and dequantizes them with the 4-bit
// kernels' own int4_half_chunk_fragments (so the values are bit-identical to their A fragments). In
// the packed k order a lane's fragments of one half chunk and row are 8 adjacent columns of the dense
// row, so it stores them as one 16-byte word: a warp's store covers 64 contiguous bytes of each of 8
// rows, whole sectors. Padded rows and columns are not stored.
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
__global__ void __launch_bounds__(kThreads)
    int4_dequantize_kernel(const uint32_t* packed, const uint32_t* scales, Int4Layout layout, uint4* out) {
  const int n = int(layout.n), k = int(layout.k), group = layout.group_size;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64;
  const long long index = (long long)blockIdx.x * kThreads + threadIdx.x;  // (strip, chunk, lane)
  pdl_launch_dependents();
  if (index >= (long long)(np / 16) * chunks * 32) return;
  const int lane = int(index % 32), chunk = int(index / 32 % chunks), strip = int(index / 32 / chunks);
  const int g = lane >> 2, t = lane & 3;
  const uint4 raw = load_stream(reinterpret_cast<const uint4*>(packed) + index);
  pdl_wait();  // the output may still be read by the previous kernel
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int col = chunk * 64 + 32 * h + 8 * t;  // the lane's 8 columns of this half, in both rows
    if (col >= k) continue;  // K is a multiple of 32: a padded half chunk is all past the end
    const uint32_t* sw = scales + size_t((chunk * 64 + 32 * h) / group) * np + strip * 16 + g;
    uint32_t frag[2][4];  // [subtile][pair]: pairs 0, 2 row g, pairs 1, 3 row g + 8
    int4_half_chunk_fragments<T>(h == 0 ? make_uint2(raw.x, raw.y) : make_uint2(raw.z, raw.w), __ldg(sw), __ldg(sw + 8),
                                 frag);
#pragma unroll
    for (int r = 0; r < 2; ++r) {  // row g, then g + 8
      const int row = strip * 16 + g + 8 * r;
      if (row >= n) continue;
      // Columns col + 0..7: subtile 0's pairs r and r + 2, then subtile 1's (int4_gemm.h's k order).
      out[(size_t(row) * k + col) / 8] = make_uint4(frag[0][r], frag[0][r + 2], frag[1][r], frag[1][r + 2]);
    }
  }
}

}  // namespace

bool launch_int4_dequantize(const uint32_t* packed, const uint32_t* scales, const Int4Layout& layout, DType dtype,
                            void* out, const KernelLaunch& launch) {
  if (layout.n < 1 || layout.k < 1 || layout.k % 32 != 0 || layout.group_size % 32 != 0) return false;
  if (dtype != DType::F16 && dtype != DType::BF16) return false;
  if (!aligned16({packed, out})) return false;
  const long long threads = layout.n_padded() / 16 * (layout.k_padded() / 64) * 32;
  const dim3 grid(unsigned((threads + kThreads - 1) / kThreads));
  TURBINE_DISPATCH_HALF(dtype, launch_pdl(int4_dequantize_kernel<T>, grid, kThreads, 0, launch, packed, scales, layout,
                                          static_cast<uint4*>(out)));
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
