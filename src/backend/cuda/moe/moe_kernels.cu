// The mixture-of-experts kernels: routing (softmax, top-k, normalization in one kernel), grouping
// the routed (token, slot) pairs by expert, one grouped GEMM launch over all experts per projection
// (SwiGLU fused into the gate/up one), and the weighted sum back into the tokens' rows.
//
// The grouped GEMM runs a block per (expert, 32 output columns). A block whose expert got no rows
// returns at once, so a decode step reads only the routed experts' weights; one that got rows
// stages up to kChunk of its input rows in shared memory and streams each weight row once per
// chunk, every warp producing 4 output columns for all rows of the chunk (a grouped GEMV: decode
// has 1-16 tokens per expert, where the weights' bandwidth is the whole cost). A warp keeps the
// 16-byte loads of all its columns (gate and up) in flight together.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdint>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/moe/moe_kernels.h"

namespace turbine::cuda {
namespace {

constexpr int kRouteWarps = 4;     // tokens per routing block
constexpr int kGemmThreads = 256;  // 8 warps
constexpr int kColsPerWarp = 4;
constexpr int kColsPerBlock = kColsPerWarp * kGemmThreads / 32;
constexpr int kChunk = 8;                     // input rows staged at once
constexpr size_t kGemmSmem = size_t(48) << 10;  // without opting in to more

__global__ void moe_route_kernel(const float* logits, int tokens, int experts, int k, bool normalize, int32_t* ids,
                                 float* weights) {
  extern __shared__ float route_smem[];
  pdl_launch_dependents();
  pdl_wait();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int t = blockIdx.x * kRouteWarps + warp;
  if (t >= tokens) return;  // whole warps; no block-wide barrier follows
  float* p = route_smem + size_t(warp) * experts;
  const float* row = logits + size_t(t) * experts;
  float max = -INFINITY;
  for (int e = lane; e < experts; e += 32) max = fmaxf(max, row[e]);
  max = warp_max(max);
  float sum = 0.0f;
  for (int e = lane; e < experts; e += 32) {
    const float v = expf(row[e] - max);
    p[e] = v;
    sum += v;
  }
  sum = warp_sum(sum);
  for (int e = lane; e < experts; e += 32) p[e] /= sum;
  __syncwarp();
  float chosen = 0.0f;
  for (int j = 0; j < k; ++j) {
    // Larger first, the lower expert among equals; NaN ranks below every probability and a taken
    // expert (-2) below NaN.
    float best = -INFINITY;
    int best_e = INT_MAX;
    for (int e = lane; e < experts; e += 32) {
      const float v = isnan(p[e]) ? -1.0f : p[e];
      if (v > best || (v == best && e < best_e)) best = v, best_e = e;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, off);
      const int oe = __shfl_xor_sync(0xffffffffu, best_e, off);
      if (ov > best || (ov == best && oe < best_e)) best = ov, best_e = oe;
    }
    const float w = p[best_e];
    __syncwarp();
    if (lane == 0) {
      ids[size_t(t) * k + j] = best_e;
      weights[size_t(t) * k + j] = w;
      p[best_e] = -2.0f;
    }
    chosen += w;
    __syncwarp();
  }
  if (normalize && lane == 0)
    for (int j = 0; j < k; ++j) weights[size_t(t) * k + j] /= chosen;
}

__global__ void moe_plan_kernel(const int32_t* ids, int pairs, int experts, int32_t* offsets, int32_t* sorted,
                                int32_t* position) {
  extern __shared__ int32_t plan_smem[];  // counts [experts], then cursors [experts]
  int32_t* count = plan_smem;
  int32_t* cursor = plan_smem + experts;
  pdl_launch_dependents();
  pdl_wait();
  for (int e = threadIdx.x; e < experts; e += blockDim.x) count[e] = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
    const int e = ids[i];
    if (e >= 0 && e < experts) atomicAdd(&count[e], 1);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int run = 0;
    for (int e = 0; e < experts; ++e) {
      cursor[e] = run;
      offsets[e] = run;
      run += count[e];
    }
    offsets[experts] = run;
  }
  __syncthreads();
  // Within an expert the pairs land in any order: each grouped row is computed on its own, so the
  // results do not depend on it.
  for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
    const int e = ids[i];
    if (e >= 0 && e < experts) {
      const int at = atomicAdd(&cursor[e], 1);
      sorted[at] = i;
      position[i] = at;
    } else {
      position[i] = -1;
    }
  }
}

template <typename T, bool kSwiglu, bool kVec>
__global__ void __launch_bounds__(kGemmThreads)
    moe_expert_gemm_kernel(const T* a, const int32_t* sorted, int a_div, const int32_t* offsets, const T* w, void* out,
                           int n, int k, int chunk) {
  extern __shared__ __align__(16) unsigned char gemm_smem[];
  T* staged = reinterpret_cast<T*>(gemm_smem);  // [chunk][k]
  const int e = blockIdx.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int col0 = blockIdx.x * kColsPerBlock + warp * kColsPerWarp;
  const T* we = w + size_t(e) * (kSwiglu ? 2 : 1) * n * k;
  // The warp's output columns (the same for all its lanes); gate rows, and up rows under SwiGLU.
  bool valid[kColsPerWarp];
  const T* wg[kColsPerWarp];
  const T* wu[kColsPerWarp];
#pragma unroll
  for (int j = 0; j < kColsPerWarp; ++j) {
    valid[j] = col0 + j < n;
    const int col = valid[j] ? col0 + j : 0;
    wg[j] = we + size_t(col) * k;
    wu[j] = we + size_t(n + col) * k;
  }
  pdl_launch_dependents();
  pdl_wait();
  const int begin = offsets[e], end = offsets[e + 1];
  for (int r0 = begin; r0 < end; r0 += chunk) {
    const int m = min(chunk, end - r0);
    __syncthreads();  // the previous chunk's rows are no longer read
    if constexpr (kVec) {
      const int per_row = k / 8;
      for (int i = threadIdx.x; i < m * per_row; i += kGemmThreads) {
        const int r = i / per_row, c = i % per_row;
        const size_t src = sorted ? size_t(sorted[r0 + r] / a_div) : size_t(r0 + r);
        reinterpret_cast<uint4*>(staged)[size_t(r) * per_row + c] =
            reinterpret_cast<const uint4*>(a + src * k)[c];
      }
    } else {
      for (int i = threadIdx.x; i < m * k; i += kGemmThreads) {
        const int r = i / k, c = i % k;
        const size_t src = sorted ? size_t(sorted[r0 + r] / a_div) : size_t(r0 + r);
        staged[size_t(r) * k + c] = a[src * k + c];
      }
    }
    __syncthreads();
    if (!valid[0]) continue;  // a warp past the last column (no barrier until the next chunk's)
    float gate[kColsPerWarp][kChunk] = {}, up[kColsPerWarp][kChunk] = {};
    if constexpr (kVec) {
      for (int c = lane * 8; c < k; c += 32 * 8) {
        // Every column's weights in flight at once; each staged row is read once for all of them.
        uint4 graw[kColsPerWarp], uraw[kColsPerWarp];
#pragma unroll
        for (int j = 0; j < kColsPerWarp; ++j) {
          if (!valid[j]) continue;
          graw[j] = load_stream(wg[j] + c);
          if constexpr (kSwiglu) uraw[j] = load_stream(wu[j] + c);
        }
#pragma unroll
        for (int r = 0; r < kChunk; ++r) {
          if (r >= m) break;
          float x8[8];
          unpack8<T>(*reinterpret_cast<const uint4*>(staged + size_t(r) * k + c), x8);
#pragma unroll
          for (int j = 0; j < kColsPerWarp; ++j) {
            if (!valid[j]) continue;
            float w8[8];
            unpack8<T>(graw[j], w8);
#pragma unroll
            for (int q = 0; q < 8; ++q) gate[j][r] += w8[q] * x8[q];
            if constexpr (kSwiglu) {
              unpack8<T>(uraw[j], w8);
#pragma unroll
              for (int q = 0; q < 8; ++q) up[j][r] += w8[q] * x8[q];
            }
          }
        }
      }
    } else {
      for (int c = lane; c < k; c += 32) {
        float g[kColsPerWarp], u[kColsPerWarp];
#pragma unroll
        for (int j = 0; j < kColsPerWarp; ++j) {
          g[j] = valid[j] ? to_float(wg[j][c]) : 0.0f;
          u[j] = kSwiglu && valid[j] ? to_float(wu[j][c]) : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < kChunk; ++r) {
          if (r >= m) break;
          const float x = to_float(staged[size_t(r) * k + c]);
#pragma unroll
          for (int j = 0; j < kColsPerWarp; ++j) {
            gate[j][r] += g[j] * x;
            if constexpr (kSwiglu) up[j][r] += u[j] * x;
          }
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kColsPerWarp; ++j) {
      if (!valid[j]) continue;  // the same for the whole warp
      const int col = col0 + j;
#pragma unroll
      for (int r = 0; r < kChunk; ++r) {
        if (r >= m) break;  // m is the same for the whole block
        const float g = warp_sum(gate[j][r]);
        if constexpr (kSwiglu) {
          const float u = warp_sum(up[j][r]);
          if (lane == 0) static_cast<T*>(out)[size_t(r0 + r) * n + col] = from_float<T>(g / (1.0f + __expf(-g)) * u);
        } else {
          if (lane == 0) static_cast<float*>(out)[size_t(r0 + r) * n + col] = g;
        }
      }
    }
  }
}

template <typename T>
__global__ void moe_combine_kernel(const float* y, const int32_t* position, const float* weights, T* out, int tokens,
                                   int k, int hidden) {
  pdl_launch_dependents();
  pdl_wait();
  const size_t total = size_t(tokens) * hidden;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / hidden, c = i % hidden;
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int at = position[t * k + j];
      if (at >= 0) sum += weights[t * k + j] * y[size_t(at) * hidden + c];
    }
    out[i] = from_float<T>(sum);
  }
}

template <typename T>
void launch_gemm(const void* a, const int32_t* sorted, int a_div, const int32_t* offsets, const void* w, void* out,
                 int experts, int n, int k, bool swiglu, const KernelLaunch& launch) {
  const bool vec = k % 8 == 0 && aligned16({a, w});
  const int chunk = int(std::min<size_t>(kChunk, kGemmSmem / (size_t(k) * sizeof(T))));
  if (chunk < 1) fail("cuda moe_experts: rows of {} elements do not fit the kernel's shared memory", k);
  const dim3 grid(unsigned((n + kColsPerBlock - 1) / kColsPerBlock), unsigned(experts));
  const size_t smem = size_t(chunk) * k * sizeof(T);
  const T* at = static_cast<const T*>(a);
  const T* wt = static_cast<const T*>(w);
  if (swiglu && vec)
    launch_pdl(moe_expert_gemm_kernel<T, true, true>, grid, kGemmThreads, smem, launch, at, sorted, a_div, offsets, wt,
               out, n, k, chunk);
  else if (swiglu)
    launch_pdl(moe_expert_gemm_kernel<T, true, false>, grid, kGemmThreads, smem, launch, at, sorted, a_div, offsets,
               wt, out, n, k, chunk);
  else if (vec)
    launch_pdl(moe_expert_gemm_kernel<T, false, true>, grid, kGemmThreads, smem, launch, at, sorted, a_div, offsets,
               wt, out, n, k, chunk);
  else
    launch_pdl(moe_expert_gemm_kernel<T, false, false>, grid, kGemmThreads, smem, launch, at, sorted, a_div, offsets,
               wt, out, n, k, chunk);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace

void launch_moe_route(const float* logits, int tokens, int experts, int k, bool normalize, int32_t* ids,
                      float* weights, const KernelLaunch& launch) {
  if (tokens == 0) return;
  if (experts > kMaxMoeExperts) fail("cuda moe_route: {} experts, the kernel takes up to {}", experts, kMaxMoeExperts);
  const unsigned blocks = unsigned((tokens + kRouteWarps - 1) / kRouteWarps);
  launch_pdl(moe_route_kernel, blocks, kRouteWarps * 32, size_t(kRouteWarps) * experts * sizeof(float), launch,
             logits, tokens, experts, k, normalize, ids, weights);
  TURBINE_CUDA_LAUNCH_CHECK();
}

void launch_moe_plan(const int32_t* ids, int pairs, int experts, int32_t* offsets, int32_t* sorted, int32_t* position,
                     const KernelLaunch& launch) {
  if (experts > kMaxMoeExperts) fail("cuda moe_experts: {} experts, the kernel takes up to {}", experts, kMaxMoeExperts);
  launch_pdl(moe_plan_kernel, 1, 1024, size_t(2) * experts * sizeof(int32_t), launch, ids, pairs, experts, offsets,
             sorted, position);
  TURBINE_CUDA_LAUNCH_CHECK();
}

void launch_moe_expert_gemm(const void* a, const int32_t* sorted, int a_div, const int32_t* offsets, const void* w,
                            void* out, int experts, int n, int k, bool swiglu, DType dtype,
                            const KernelLaunch& launch) {
  if (n == 0 || experts == 0) return;
  TURBINE_DISPATCH_HALF(dtype, launch_gemm<T>(a, sorted, a_div, offsets, w, out, experts, n, k, swiglu, launch));
}

void launch_moe_combine(const float* y, const int32_t* position, const float* weights, void* out, int tokens, int k,
                        int hidden, DType dtype, const KernelLaunch& launch) {
  const size_t total = size_t(tokens) * hidden;
  if (total == 0) return;
  const unsigned blocks = unsigned(std::min<size_t>((total + 255) / 256, 65535));
  TURBINE_DISPATCH_HALF(dtype, launch_pdl(moe_combine_kernel<T>, blocks, 256, 0, launch, y, position, weights,
                                          static_cast<T*>(out), tokens, k, hidden));
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
