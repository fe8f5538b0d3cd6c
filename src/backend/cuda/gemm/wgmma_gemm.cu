// out[T, N] = x[T, K] @ w[N, K]^T for 3..48 tokens on Hopper: a pass over the weights that is
// bound by HBM bandwidth, so the kernel is built to keep the weight stream moving.
//
// The product is computed transposed, out^T = w x^T: 128 weight rows of a tile are the M side of
// two warpgroups' wgmma (64 rows each), the tokens (padded to 8/16/32/48) the N side. A producer
// warp streams K steps of the weight tile and of the tokens (4 or 6 TMA boxes of 64 along K, with
// the 128-byte swizzle; rows and K past the ends read as zeros) into a ring of shared-memory
// stages; the consumer warpgroups multiply straight from shared memory and hand each stage back
// through an mbarrier. Weight loads of the first stages go out before the wait on the previous
// kernel (PDL), so they overlap its tail.
//
// Work split (stream-K): all tiles' K steps form one line cut into equal pieces, one per SM, so
// every SM reads the same number of weight bytes whatever the shape, and a piece's pipeline runs
// on across tile boundaries. A piece that holds a whole tile writes it out; a tile cut between
// pieces is summed by the last of its pieces to finish (a counter per tile), in piece order, so
// results do not depend on timing.
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_arch.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/hopper.cuh"
#include "backend/cuda/gemm/wgmma_gemm.h"

namespace turbine::cuda {
namespace {

using namespace hopper;

constexpr int kTileRows = 128;             // two consumer warpgroups of 64 weight rows
constexpr int kBoxK = 64;                  // a TMA box row: 128 bytes, the swizzle's width
constexpr int kConsumers = 256;            // threads of the two consumer warpgroups
constexpr int kThreads = kConsumers + 32;  // and one producer warp
constexpr int kSmemBudget = 216 * 1024;

// Boxes side by side along K per stage. Longer runs of each weight row per stage read faster
// (measured on the H100: 6 boxes beat 4 and 1 at 16 tokens), down to two stages in flight.
constexpr int boxes_for(int padded_tokens) { return padded_tokens <= 16 ? 6 : 4; }

template <int Tokens>
struct Layout {
  static_assert(Tokens % 8 == 0 && Tokens <= kWgmmaGemmMaxTokens);
  static constexpr int kBoxes = boxes_for(Tokens);
  static constexpr int kStepK = kBoxK * kBoxes;
  static constexpr int kWBox = kTileRows * kBoxK * 2;
  static constexpr int kXBox = Tokens * kBoxK * 2;
  static constexpr int kWBytes = kWBox * kBoxes;
  static constexpr int kXBytes = kXBox * kBoxes;
  static constexpr int kStageBytes = kWBytes + kXBytes;  // a multiple of the 1024-byte swizzle atom
  static constexpr int kStages = kSmemBudget / kStageBytes;
  static_assert(kStages >= 2);
  static constexpr size_t kSmemBytes = size_t(kStages) * kStageBytes + 1024;  // + alignment slack
  static constexpr int kAcc = Tokens / 2;                                     // fp32 accumulators per consumer thread
};

struct Shape {
  int tokens, n, k;
  int iters;        // K steps per tile
  long long total;  // tiles x iters
};

// First K step of piece `b` of `blocks` over `total`, and the piece holding step g.
__host__ __device__ __forceinline__ long long piece_begin(long long b, long long total, int blocks) {
  return b * total / blocks;
}
__device__ __forceinline__ int piece_of(long long g, long long total, int blocks) {
  return int(((g + 1) * blocks + total - 1) / total - 1);
}

#if TURBINE_HOPPER_DEVICE
// Writes a finished tile segment of the consumer threads' accumulators: straight to `out` when the
// piece computed the whole tile, else through the partial slots (2 per piece: its first and its
// last tile), where the last piece of the tile to arrive adds the slots up in piece order.
template <typename O, int Tokens>
struct TileWriter {
  static constexpr int kAcc = Layout<Tokens>::kAcc;
  O* out;
  const Shape& s;
  float4* partials;
  unsigned* counters;
  long long begin;  // this piece's first step
  int* last_flag;   // shared

  __device__ void store(int tile, const float* v) const {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = tile * kTileRows + (warp >> 2) * 64 + (warp & 3) * 16 + (lane >> 2);
#pragma unroll
    for (int j = 0; j < Tokens / 8; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int row = row0 + 8 * h, t = 8 * j + 2 * (lane & 3) + e;
          if (row < s.n && t < s.tokens) out[size_t(t) * s.n + row] = from_float<O>(v[4 * j + 2 * h + e]);
        }
  }

  // Called by every consumer thread when step g ended a segment that began at seg_begin.
  __device__ void finish(long long g, long long seg_begin, const float* acc) const {
    const int tile = int(g / s.iters);
    const long long tile_begin = (long long)tile * s.iters;
    if (seg_begin == tile_begin && g == tile_begin + s.iters - 1) {
      store(tile, acc);
      return;
    }
    const int blocks = gridDim.x, piece = blockIdx.x;
    const int first = piece_of(tile_begin, s.total, blocks);
    const int last = piece_of(tile_begin + s.iters - 1, s.total, blocks);
    auto slot_of = [&](int p) { return 2 * p + (p == first && piece_begin(p, s.total, blocks) < tile_begin ? 1 : 0); };
    const int mine = 2 * piece + (seg_begin == begin ? 0 : 1);
    float4* dst = partials + size_t(mine) * (kAcc / 4) * kConsumers + threadIdx.x;
#pragma unroll
    for (int q = 0; q < kAcc / 4; ++q)
      __stcg(dst + q * kConsumers, make_float4(acc[4 * q], acc[4 * q + 1], acc[4 * q + 2], acc[4 * q + 3]));
    __threadfence();
    named_barrier(1, kConsumers);
    if (threadIdx.x == 0) {
      const unsigned arrived = atomicAdd(counters + tile, 1u);
      *last_flag = arrived == unsigned(last - first);
      if (*last_flag) counters[tile] = 0;  // ready for the next launch
    }
    named_barrier(1, kConsumers);
    if (!*last_flag) return;
    __threadfence();
    float sum[kAcc] = {};
    for (int p = first; p <= last; ++p) {
      const float4* src = partials + size_t(slot_of(p)) * (kAcc / 4) * kConsumers + threadIdx.x;
#pragma unroll
      for (int q = 0; q < kAcc / 4; ++q) {
        const float4 v = __ldcg(src + q * kConsumers);
        sum[4 * q] += v.x;
        sum[4 * q + 1] += v.y;
        sum[4 * q + 2] += v.z;
        sum[4 * q + 3] += v.w;
      }
    }
    store(tile, sum);
  }
};
#endif

template <typename T, typename O, int Tokens>
__global__ void __launch_bounds__(kThreads, 1)
    wgmma_gemm_kernel(const __grid_constant__ CUtensorMap w_map, const __grid_constant__ CUtensorMap x_map,
                      O* __restrict__ out, Shape s, float4* __restrict__ partials, unsigned* __restrict__ counters) {
#if TURBINE_HOPPER_DEVICE
  using L = Layout<Tokens>;
  constexpr int kStages = L::kStages;
  __shared__ __align__(8) uint64_t full[kStages], empty[kStages];
  __shared__ int last_flag;
  extern __shared__ uint8_t dynamic_smem[];
  uint8_t* const ring = dynamic_smem + ((1024 - smem_addr(dynamic_smem) % 1024) % 1024);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int blocks = gridDim.x, piece = blockIdx.x;
  const long long begin = piece_begin(piece, s.total, blocks);
  const int count = int(piece_begin(piece + 1, s.total, blocks) - begin);
  if (threadIdx.x == 0) {
    for (int i = 0; i < kStages; ++i) {
      mbar_init(&full[i], 1);
      mbar_init(&empty[i], kConsumers / 32);  // one arrival per consumer warp
    }
    mbar_fence_init();
  }
  __syncthreads();
  pdl_launch_dependents();

  if (warp == kConsumers / 32) {  // the producer
    if (lane != 0) return;
    prefetch_tensor_map(&w_map);
    prefetch_tensor_map(&x_map);
    const uint64_t read_once = evict_first_policy(), reused = evict_normal_policy();
    auto load = [&](int i, bool weights) {
      const long long g = begin + i;
      const int slot = i % kStages, kx = int(g % s.iters) * L::kStepK;
      uint8_t* stage = ring + slot * L::kStageBytes;
      for (int b = 0; b < L::kBoxes; ++b)
        if (weights)
          tma_load_2d(stage + b * L::kWBox, &w_map, kx + b * kBoxK, int(g / s.iters) * kTileRows, &full[slot],
                      read_once);
        else
          tma_load_2d(stage + L::kWBytes + b * L::kXBox, &x_map, kx + b * kBoxK, 0, &full[slot], reused);
    };
    // Weights are never written by an earlier kernel: the first stages' loads go out before the wait.
    const int first = min(count, kStages);
    for (int i = 0; i < first; ++i) {
      mbar_expect_bytes(&full[i], L::kStageBytes);
      load(i, true);
    }
    pdl_wait();
    for (int i = 0; i < first; ++i) load(i, false);
    for (int i = first; i < count; ++i) {
      const int slot = i % kStages;
      mbar_wait(&empty[slot], (i / kStages - 1) & 1);
      mbar_expect_bytes(&full[slot], L::kStageBytes);
      load(i, true);
      load(i, false);
    }
    return;
  }

  pdl_wait();  // outputs, partials and counters may still be in use by the previous kernel
  const TileWriter<O, Tokens> writer{out, s, partials, counters, begin, &last_flag};
  const int group = warp >> 2;  // the consumer warpgroup: weight rows 64 * group ..
  float acc[L::kAcc];
#pragma unroll
  for (int i = 0; i < L::kAcc; ++i) acc[i] = 0.0f;
  long long seg_begin = begin;
  for (int i = 0; i < count; ++i) {
    const int slot = i % kStages;
    mbar_wait(&full[slot], (i / kStages) & 1);
    const uint8_t* w_stage = ring + slot * L::kStageBytes + group * 64 * kBoxK * 2;
    const uint8_t* x_stage = ring + slot * L::kStageBytes + L::kWBytes;
#pragma unroll
    for (int a = 0; a < L::kAcc; ++a) wgmma_fence_operand(acc[a]);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < L::kStepK / 16; ++kk) {
      const int b = kk / (kBoxK / 16), offset = kk % (kBoxK / 16) * 32;
      wgmma<Tokens, T>(acc, smem_desc_sw128(w_stage + b * L::kWBox + offset),
                       smem_desc_sw128(x_stage + b * L::kXBox + offset));
    }
    wgmma_commit();
    wgmma_wait_all();
#pragma unroll
    for (int a = 0; a < L::kAcc; ++a) wgmma_fence_operand(acc[a]);
    if (lane == 0) mbar_arrive(&empty[slot]);
    const long long g = begin + i;
    if ((g + 1) % s.iters == 0 || i == count - 1) {
      writer.finish(g, seg_begin, acc);
#pragma unroll
      for (int a = 0; a < L::kAcc; ++a) acc[a] = 0.0f;
      seg_begin = g + 1;
    }
  }
#else
  // Other architectures' passes: never launched (init_wgmma_gemm wants compute capability 9.0). The
  // names below are used only by the sm_90a body.
  (void)Layout<Tokens>::kStepK, (void)Layout<Tokens>::kAcc, (void)piece_begin, (void)piece_of;
#endif
}

// cuTensorMapEncodeTiled from the driver, found at run time so that the binary does not link
// libcuda (machines without a GPU run it too). Null when the driver lacks it.
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
EncodeTiled tensor_map_encoder() {
  static const EncodeTiled encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return EncodeTiled(nullptr);
    }
    return reinterpret_cast<EncodeTiled>(fn);
  }();
  return encode;
}

// A map of a row-major [rows, k] fp16/bf16 matrix read as boxes of box_rows rows x 64 K, swizzled
// for wgmma. Rows and K past the ends read as zeros.
bool make_map(CUtensorMap* map, const void* base, DType dtype, int rows, int k, int box_rows) {
  const cuuint64_t dims[2] = {cuuint64_t(k), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(k) * 2};
  const cuuint32_t box[2] = {kBoxK, cuuint32_t(box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const auto type = dtype == DType::F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  return tensor_map_encoder()(map, type, 2, const_cast<void*>(base), dims, strides, box, element_strides,
                              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

int padded_tokens(int tokens) { return tokens <= 8 ? 8 : (tokens + 15) / 16 * 16; }
int step_k(int tokens) { return kBoxK * boxes_for(padded_tokens(tokens)); }

// Two partial slots per piece (its first and its last tile), each the consumers' accumulators.
size_t workspace_bytes(int grid, int tokens) {
  return size_t(2) * grid * (padded_tokens(tokens) / 8) * kConsumers * sizeof(float4);
}

// Calls f(kernel, smem bytes) with the instance for `padded` tokens.
template <typename T, typename O, typename F>
void with_kernel(int padded, F&& f) {
  switch (padded) {
    case 8: f(wgmma_gemm_kernel<T, O, 8>, Layout<8>::kSmemBytes); break;
    case 16: f(wgmma_gemm_kernel<T, O, 16>, Layout<16>::kSmemBytes); break;
    case 32: f(wgmma_gemm_kernel<T, O, 32>, Layout<32>::kSmemBytes); break;
    default: f(wgmma_gemm_kernel<T, O, 48>, Layout<48>::kSmemBytes);
  }
}

template <typename T, typename O>
void configure_all() {
  for (const int padded : {8, 16, 32, 48})
    with_kernel<T, O>(padded, [](auto kernel, size_t smem) {
      TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    });
}

template <typename T, typename O>
void launch_typed(const CUtensorMap& w_map, const CUtensorMap& x_map, void* out, const Shape& s,
                  const WgmmaGemmPlan& plan, float* workspace, unsigned* counters, const KernelLaunch& launch) {
  with_kernel<T, O>(padded_tokens(s.tokens), [&](auto kernel, size_t smem) {
    launch_pdl(kernel, plan.grid, kThreads, smem, launch, w_map, x_map, static_cast<O*>(out), s,
               reinterpret_cast<float4*>(workspace), counters);
  });
}

}  // namespace

bool init_wgmma_gemm(int device) {
  if (!runs_sm90a(device) || !tensor_map_encoder()) return false;
  configure_all<__half, __half>();
  configure_all<__half, float>();
  configure_all<__nv_bfloat16, __nv_bfloat16>();
  configure_all<__nv_bfloat16, float>();
  return true;
}

WgmmaGemmPlan plan_wgmma_gemm(int tokens, int n, int k, int sms) {
  if (tokens < 1 || tokens > kWgmmaGemmMaxTokens || n < 1 || k < 8 || k % 8 != 0 || sms < 1) return {};
  WgmmaGemmPlan plan;
  plan.tiles = (n + kTileRows - 1) / kTileRows;
  const long long total = (long long)plan.tiles * ((k + step_k(tokens) - 1) / step_k(tokens));
  plan.grid = int(std::min<long long>(total, sms));
  plan.workspace_bytes = workspace_bytes(plan.grid, tokens);
  return plan;
}

size_t wgmma_gemm_max_workspace_bytes(int sms) { return workspace_bytes(sms, kWgmmaGemmMaxTokens); }

bool launch_wgmma_gemm(const void* x, const void* w, DType in_dtype, void* out, DType out_dtype, int tokens, int n,
                       int k, const WgmmaGemmPlan& plan, float* workspace, unsigned* tile_counters,
                       const KernelLaunch& launch) {
  const bool aligned = aligned16({x, w});
  if (plan.grid < 1 || !aligned || (in_dtype != DType::F16 && in_dtype != DType::BF16) ||
      (out_dtype != DType::F32 && out_dtype != in_dtype))
    return false;
  CUtensorMap w_map, x_map;
  if (!make_map(&w_map, w, in_dtype, n, k, kTileRows) ||
      !make_map(&x_map, x, in_dtype, tokens, k, padded_tokens(tokens)))
    return false;
  const int iters = (k + step_k(tokens) - 1) / step_k(tokens);
  const Shape s{tokens, n, k, iters, (long long)plan.tiles * iters};
  if (out_dtype == DType::F32)
    TURBINE_DISPATCH_HALF(in_dtype,
                          launch_typed<T, float>(w_map, x_map, out, s, plan, workspace, tile_counters, launch));
  else
    TURBINE_DISPATCH_HALF(in_dtype, launch_typed<T, T>(w_map, x_map, out, s, plan, workspace, tile_counters, launch));
  return true;
}

}  // namespace turbine::cuda
