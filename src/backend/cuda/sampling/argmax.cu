// Greedy sampling on the GPU: one block per logits row, so only the chosen ids come back.
#include <cmath>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/sampling/argmax.h"

namespace turbine::cuda {
namespace {

__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

// The block's best (value, index) to out (0 when every value was NaN).
__device__ void block_argmax_store(float v, int idx, int32_t* out) {
  __shared__ float sv[32];
  __shared__ int si[32];
  for (int o = 16; o > 0; o >>= 1)
    better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sv[warp] = v;
    si[warp] = idx;
  }
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x >> 5;
    v = lane < warps ? sv[lane] : -INFINITY;
    idx = lane < warps ? si[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1)
      better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
    if (lane == 0) *out = idx == 0x7fffffff ? 0 : idx;
  }
}

__global__ void argmax_kernel(const float* logits, int cols, int32_t* out) {
  const float* row = logits + size_t(blockIdx.x) * cols;
  float v = -INFINITY;  // with idx INT_MAX: any non-NaN value wins, so NaN is skipped
  int idx = 0x7fffffff;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) better(v, idx, row[c], c);
  block_argmax_store(v, idx, out + blockIdx.x);
}

// Rows of whole 16-byte chunks: kUnroll chunks per thread in flight at once. One block reads a
// 32000-entry row in one round of loads instead of 31 dependent ones.
constexpr int kUnroll = 8;
__global__ void argmax_vec_kernel(const float4* logits, int chunks, int32_t* out) {
  const float4* row = logits + size_t(blockIdx.x) * chunks;
  float v = -INFINITY;
  int idx = 0x7fffffff;
  for (int c0 = threadIdx.x; c0 < chunks; c0 += blockDim.x * kUnroll) {
    float4 q[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = c0 + u * blockDim.x;
      q[u] = c < chunks ? __ldg(row + c) : make_float4(NAN, NAN, NAN, NAN);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = 4 * (c0 + u * int(blockDim.x));
      better(v, idx, q[u].x, c);
      better(v, idx, q[u].y, c + 1);
      better(v, idx, q[u].z, c + 2);
      better(v, idx, q[u].w, c + 3);
    }
  }
  block_argmax_store(v, idx, out + blockIdx.x);
}

}  // namespace

void launch_argmax_rows(const float* logits, int rows, int cols, int32_t* out, cudaStream_t stream) {
  if (rows == 0) return;
  if (cols % 4 == 0 && aligned16({logits}))
    argmax_vec_kernel<<<rows, 1024, 0, stream>>>(reinterpret_cast<const float4*>(logits), cols / 4, out);
  else
    argmax_kernel<<<rows, 1024, 0, stream>>>(logits, cols, out);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
