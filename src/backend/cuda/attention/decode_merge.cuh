// The end of a decode attention block (paged_decode.cu): each warp's online
// softmax state per query head (its running maximum m, sum l, and unnormalised output acc, in log2
// units) merged across the block's warps, then either written out (one split) or written as this
// split's partial, the last split block of a (sequence, KV head) to arrive merging all partials. The
// counters are left zero for the next launch.
#pragma once
#include <cfloat>

#include "backend/cuda/attention/paged_attention.h"
#include "backend/cuda/common/device_math.cuh"

namespace turbine::cuda {

constexpr int kMaxSplits = 64;  // context splits of a decode launch

// wm / wl / wacc: the warps' states in shared memory (wm = -FLT_MAX for a warp that saw no key),
// written before the call. head0: the block's first query row; group: its query heads.
template <typename T, int D, int MaxGroup, int Warps>
__device__ void merge_decode_states(const PagedAttentionParams& p, int splits, int split, size_t head0, int group,
                                    const float (&wm)[Warps][MaxGroup], const float (&wl)[Warps][MaxGroup],
                                    const float (&wacc)[Warps][MaxGroup][D], float* part_acc, float* part_ml,
                                    unsigned* counters) {
  __shared__ float split_scale[MaxGroup][kMaxSplits];
  __shared__ bool merge_here;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int kvh = blockIdx.y;
  __syncthreads();
  const size_t stride = size_t(p.num_tokens) * p.num_heads;  // rows per split in the workspace
  for (int i = threadIdx.x; i < group * D; i += blockDim.x) {
    const int h = i / D, d = i % D;
    float mx = -FLT_MAX;
#pragma unroll
    for (int w = 0; w < Warps; ++w) mx = fmaxf(mx, wm[w][h]);
    float sum = 0.0f, v = 0.0f;
#pragma unroll
    for (int w = 0; w < Warps; ++w) {
      const float f = wm[w][h] == -FLT_MAX ? 0.0f : exp2f(wm[w][h] - mx);
      sum += wl[w][h] * f;
      v += wacc[w][h][d] * f;
    }
    if (splits == 1) {
      static_cast<T*>(p.out)[(head0 + h) * D + d] = from_float<T>(sum > 0.0f ? v / sum : 0.0f);
    } else {
      const size_t part = size_t(split) * stride + head0 + h;
      part_acc[part * D + d] = v;
      if (d == 0) {
        part_ml[part * 2] = sum > 0.0f ? mx : -FLT_MAX;
        part_ml[part * 2 + 1] = sum;
      }
    }
  }
  if (splits == 1) return;

  // The last split block of this (sequence, KV head) to arrive merges all parts.
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned* counter = counters + size_t(blockIdx.x) * p.num_kv_heads + kvh;
    merge_here = atomicAdd(counter, 1u) == unsigned(splits - 1);
    if (merge_here) *counter = 0;  // zero again for the next launch
  }
  __syncthreads();
  if (!merge_here) return;
  __threadfence();
  for (int h = warp; h < group; h += Warps) {
    const size_t row = head0 + h;
    float ms[kMaxSplits / 32], ls[kMaxSplits / 32], mx = -FLT_MAX;
#pragma unroll
    for (int j = 0; j < kMaxSplits / 32; ++j) {
      const int s = lane + 32 * j;
      ms[j] = s < splits ? __ldcg(part_ml + (s * stride + row) * 2) : -FLT_MAX;
      ls[j] = s < splits ? __ldcg(part_ml + (s * stride + row) * 2 + 1) : 0.0f;
      mx = fmaxf(mx, ms[j]);
    }
    mx = warp_max(mx);
    float total = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxSplits / 32; ++j) {
      ms[j] = ms[j] == -FLT_MAX ? 0.0f : exp2f(ms[j] - mx);
      total += ls[j] * ms[j];
    }
    total = warp_sum(total);
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxSplits / 32; ++j)
      if (lane + 32 * j < splits) split_scale[h][lane + 32 * j] = ms[j] * inv;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * D; i += blockDim.x) {
    const int h = i / D, d = i % D;
    float v = 0.0f;
    for (int s = 0; s < splits; ++s) v += split_scale[h][s] * __ldcg(part_acc + (s * stride + head0 + h) * D + d);
    static_cast<T*>(p.out)[(head0 + h) * D + d] = from_float<T>(v);
  }
}

}  // namespace turbine::cuda
