// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights for 1..64 tokens (int4_stream_gemm.h has the
// split of the work). On an H200 the register-ring kernels (int4_gemv.cu, int4_tiled_gemm.cu) read
// 0.5-1.4 TB/s: a lane can keep only a few 16-byte loads in flight, and each weight cost about six
// instructions (ncu: the GEMV issues an instruction every 1.8 cycles per scheduler at 25% occupancy).
// Here:
// - A producer warp streams each unit's weights, scales and activations into a ring of
//   shared-memory stages with 1-D bulk copies (TMA), a lane per copy; a `full` mbarrier per stage
//   counts the bytes, an `empty` one the 8 consumer warps done with it. The loads in flight are
//   bounded by the ring, not by registers, and no block-wide barrier paces the units.
// - Dequantization only takes the zero point off ((1024 + q) - (1024 + zero) in fp16, 128 + ... in
//   bf16, both exact): the products with the activations are summed per group in fp32 and scaled once
//   per group, row and token, not once per weight.
// - The warps read a unit from shared memory: a strip's chunk as int4_gemm.h's lane words, the
//   activations as mma B fragments (each token's row staged with a 320-byte stride, so that the two
//   tokens of one 8-lane phase of a read fall in different banks).
// - At one token the kernel can normalise its own input (Int4NormInput): the consumer warps compute
//   rms_norm(x + delta) * norm_weight for the whole row into shared memory, as rms_norm.cu rounds it,
//   while the producer fills the ring with the first weights, and read their B fragments from there.
// Weights and scales are fetched before the PDL wait; activations, partials, counters and the output
// only after it.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/hopper.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_stream_gemm.h"

namespace turbine::cuda {
namespace {

constexpr int kConsumerWarps = 8;
constexpr int kThreads = (kConsumerWarps + 1) * 32;  // and one producer warp
constexpr int kXStride = 320;       // bytes per staged token row: 128 columns and 64 bytes apart
constexpr int kMaxUnitGroups = 4;   // groups in a unit's 128 columns (groups of 32)
constexpr int kMaxStages = 8;
constexpr int kBarrierBytes = 2 * kMaxStages * 8;  // the stages' mbarriers, ahead of the ring
constexpr size_t kRingBytesPerSm = 180 * 1024;  // the rings of an SM's blocks together
constexpr size_t kSmemPerSm = 227 * 1024;       // what an H100/H200 SM gives blocks
// Resident blocks per SM the registers allow (the launch bounds ask for it; the persistent grid must
// fit at once): up to 16 tokens ~60 registers, three blocks; above, ~120, one.
__host__ __device__ constexpr int min_blocks(int token_tiles) { return token_tiles <= 2 ? 3 : 1; }

__host__ __device__ constexpr int stage_bytes(int token_tiles, int strips) {
  return strips * 1024 + kMaxUnitGroups * strips * 16 * 4 + token_tiles * 8 * kXStride;
}
__host__ __device__ constexpr int pair_sum_bytes(int token_tiles, int strips) {
  return strips == 4 ? 4 * token_tiles * 4 * 32 * 4 : 0;  // 4 warps' accumulators
}
constexpr int strips_for(int token_tiles) { return token_tiles <= 2 ? 4 : 8; }
// The normed row of a fused input (Int4NormInput), after the ring and the pair sums.
size_t norm_row_bytes(const Int4Layout& layout) { return size_t(layout.k_padded()) * 2; }
// The ring's stages (`ring` bytes, by default the block's share of kRingBytesPerSm less the `extra`
// bytes of a normed row; 3 to 8) and the block's shared memory.
struct RingShape {
  int stages;
  size_t smem_bytes;
};
RingShape ring_shape(int token_tiles, size_t ring = 0, size_t extra = 0) {
  const int strips = strips_for(token_tiles);
  const size_t stage = size_t(stage_bytes(token_tiles, strips));
  if (ring == 0) {
    const size_t share = kRingBytesPerSm / size_t(min_blocks(token_tiles));
    ring = share > extra ? share - extra : 0;
  }
  const int stages = int(std::clamp<size_t>(ring / stage, 3, kMaxStages));
  return {stages, kBarrierBytes + stages * stage + size_t(pair_sum_bytes(token_tiles, strips)) + extra};
}

template <typename T>
__device__ __forceinline__ float scale_of(uint32_t word) {
  const uint16_t bits = uint16_t(word & 0xffffu);
  if constexpr (std::is_same_v<T, __half>)
    return __half2float(__ushort_as_half(bits));
  else
    return __bfloat162float(__ushort_as_bfloat16(bits));
}

// Half chunk h of a strip, unscaled: part[nt] += (q - zero) x for token tile nt. xs is the lane's
// 16 bytes of its token g of tile 0 in the staged activations (tile nt is 8 rows on), read whole: the
// 8 lanes of a phase are tokens g, g + 1 (320 bytes apart: the other half of the banks) and t = 0..3;
// `has` says which tiles hold token nt * 8 + g.
template <typename T, int NT>
__device__ __forceinline__ void offset_half_chunk_mma(float (&part)[NT][4], const uint4& words4, int h,
                                                      uint32_t scale_g, uint32_t scale_g8, const unsigned char* xs,
                                                      const bool (&has)[NT]) {
  const uint32_t z_lo = __byte_perm(scale_g, 0, 0x3232), z_hi = __byte_perm(scale_g8, 0, 0x3232);
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&words4);
  uint32_t frag[2][4];
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const uint32_t word = words[2 * h + s];
    frag[s][0] = int4_offset_pair<T>(word, 0, z_lo);
    frag[s][1] = int4_offset_pair<T>(word, 1, z_hi);
    frag[s][2] = int4_offset_pair<T>(word, 2, z_lo);
    frag[s][3] = int4_offset_pair<T>(word, 3, z_hi);
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const uint4 b = has[nt] ? *reinterpret_cast<const uint4*>(xs + nt * 8 * kXStride) : make_uint4(0, 0, 0, 0);
    int4_mma_16816<T>(part[nt], frag[0], b.x, b.y);
    int4_mma_16816<T>(part[nt], frag[1], b.z, b.w);
  }
}

// The fused input's row, rms_norm(x + delta) * norm_weight, into `row` (shared memory) by the consumer
// warps, rounded as rms_norm.cu rounds it; block 0 also writes x + delta to residual_out.
#if TURBINE_HOPPER_DEVICE
template <typename T>
__device__ __forceinline__ void stage_normed_row(const Int4GemmArgs& a, const Int4NormInput& in, uint4* row) {
  __shared__ float warp_sums[kConsumerWarps];
  constexpr int kConsumers = kConsumerWarps * 32;
  const int chunks = int(a.layout.k) / 8;
  const uint4* x = static_cast<const uint4*>(a.x);
  const uint4* delta = static_cast<const uint4*>(in.delta);
  uint4* residual = static_cast<uint4*>(in.residual_out);
  float sum = 0.0f;
  for (int c = int(threadIdx.x); c < chunks; c += kConsumers) {
    uint4 h = x[c];
    float f[8];
    if (delta) {
      float d[8];
      unpack8<T>(h, f);
      unpack8<T>(delta[c], d);
#pragma unroll
      for (int e = 0; e < 8; ++e) f[e] += d[e];
      h = pack8<T>(f);  // the residual stream is kept in T
      if (blockIdx.x == 0) residual[c] = h;
    }
    unpack8<T>(h, f);
#pragma unroll
    for (int e = 0; e < 8; ++e) sum += f[e] * f[e];
    row[c] = h;
  }
  sum = warp_sum(sum);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = sum;
  hopper::named_barrier(1, kConsumers);
  sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kConsumerWarps; ++w) sum += warp_sums[w];
  const float inv = rsqrtf(sum / float(a.layout.k) + in.eps);
  const uint4* weight = static_cast<const uint4*>(in.norm_weight);
  for (int c = int(threadIdx.x); c < chunks; c += kConsumers) {
    float f[8], w[8];
    unpack8<T>(row[c], f);
    unpack8<T>(__ldg(weight + c), w);
#pragma unroll
    for (int e = 0; e < 8; ++e) f[e] = f[e] * inv * w[e];
    row[c] = pack8<T>(f);
  }
  hopper::named_barrier(1, kConsumers);
}
#endif

// Norm: the fused input (one token; plan.norm), whose row the consumers stage instead of the producer.
template <typename T, int NT, int STRIPS, bool Norm>
__global__ void __launch_bounds__(kThreads, min_blocks(NT))
    int4_stream_kernel(Int4GemmArgs a, Int4StreamPlan p, float* workspace, unsigned* counters, Int4NormInput norm) {
  static_assert(!Norm || NT == 1, "the fused input is one token's");
#if TURBINE_HOPPER_DEVICE
  using namespace hopper;
  constexpr int kW = STRIPS * 1024, kS = kMaxUnitGroups * STRIPS * 16 * 4, kStage = stage_bytes(NT, STRIPS);
  constexpr int kRows = STRIPS * 16, kTok = NT * 8;
  constexpr int kChunkWarps = kConsumerWarps / STRIPS;  // warps sharing a strip, each with its chunks of a unit
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ int last_arrival;
  uint64_t* full = reinterpret_cast<uint64_t*>(smem);  // [stages]: the unit's bytes have landed
  uint64_t* empty = full + kMaxStages;                 // [stages]: every consumer warp is done with it
  unsigned char* ring = smem + kBarrierBytes;
  float* pair_sums = reinterpret_cast<float*>(ring + size_t(p.stages) * kStage);
  uint4* normed_row = reinterpret_cast<uint4*>(ring + size_t(p.stages) * kStage + pair_sum_bytes(NT, STRIPS));

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, chunks = (k + 63) / 64, strips_total = np / 16;
  const int U = p.units_per_tile, gs = p.group_shift;
  const long long begin = p.begin(int(blockIdx.x)), end = p.begin(int(blockIdx.x) + 1);
  const int count = int(end - begin), first_tile = int(begin / U), first_kp = int(begin - (long long)first_tile * U);

  if (threadIdx.x == 0) {
    for (int s = 0; s < p.stages; ++s) {
      mbar_init(&full[s], Norm ? 1 : 2);  // the producer's arrivals: weights and scales, then activations
      mbar_init(&empty[s], kConsumerWarps);
    }
    mbar_fence_init();
  }
  __syncthreads();

  if (warp == kConsumerWarps) {
    // The producer warp streams unit i of the block into stage i % stages: lane 0 announces the bytes,
    // then the lanes issue one bulk copy each (a strip's chunks, a group's scales, a token's row).
    // Weights are read once and leave L2 first; scales and activations are read by other blocks too.
    const uint64_t stream_policy = evict_first_policy(), keep_policy = evict_normal_policy();
    auto fetch_weights = [&](int slot, int tile, int kp) {
      unsigned char* st = ring + size_t(slot) * kStage;
      const int strip0 = tile * STRIPS, live = min(STRIPS, strips_total - strip0), nch = min(2, chunks - 2 * kp);
      const int g0 = (128 * kp) >> gs, groups = ((128 * kp + 64 * nch - 1) >> gs) - g0 + 1;
      if (lane == 0) mbar_expect_bytes(&full[slot], unsigned(live * nch * 512 + groups * live * 64));
      __syncwarp();
      if (lane < live)
        bulk_load(st + lane * 1024, a.w + (size_t(strip0 + lane) * chunks + 2 * kp) * 128, unsigned(nch * 512),
                  &full[slot], stream_policy);
      else if (lane < live + groups)
        bulk_load(st + kW + (lane - live) * kRows * 4, a.scales + size_t(g0 + lane - live) * np + strip0 * 16,
                  unsigned(live * 64), &full[slot], keep_policy);
    };
    auto fetch_activations = [&](int slot, int kp) {
      unsigned char* st = ring + size_t(slot) * kStage + kW + kS;
      const int cols = min(128, k - 128 * kp);
      if (lane == 0) mbar_expect_bytes(&full[slot], unsigned(tokens * cols * 2));
      __syncwarp();
      const T* x = static_cast<const T*>(a.x) + 128 * kp;
      for (int tok = lane; tok < tokens; tok += 32)
        bulk_load(st + tok * kXStride, x + size_t(tok) * k, unsigned(cols * 2), &full[slot], keep_policy);
    };
    // The first ring's weights go out before the PDL wait (nothing writes them), its activations after.
    const int prologue = min(count, p.stages);
    int tile = first_tile, kp = first_kp;
    for (int i = 0; i < prologue; ++i) {
      fetch_weights(i, tile, kp);
      if (++kp == U) kp = 0, ++tile;
    }
    pdl_launch_dependents();
    pdl_wait();
    kp = first_kp;
    for (int i = 0; i < prologue && !Norm; ++i) {
      fetch_activations(i, kp);
      if (++kp == U) kp = 0;
    }
    kp = (first_kp + prologue) % U;
    int slot = 0, round = 1;  // unit i takes stage i % stages in round i / stages
    for (int i = prologue; i < count; ++i) {
      mbar_wait(&empty[slot], unsigned(round - 1) & 1u);
      fetch_weights(slot, tile, kp);
      if constexpr (!Norm) fetch_activations(slot, kp);
      if (++kp == U) kp = 0, ++tile;
      if (++slot == p.stages) slot = 0, ++round;
    }
    return;
  }

  // Consumers write the output, partials and counters, which the previous kernel may still use.
  pdl_launch_dependents();
  pdl_wait();
  if constexpr (Norm) stage_normed_row<T>(a, norm, normed_row);
  const int my_strip = warp % STRIPS;
  bool has[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) has[nt] = nt * 8 + g < tokens;
  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[nt][e] = 0.0f;

  int tile = first_tile, kp = first_kp, slot = 0, round = 0;
  for (int i = 0; i < count; ++i) {
    mbar_wait(&full[slot], unsigned(round) & 1u);
    const unsigned char* st = ring + size_t(slot) * kStage;
    const uint4* sw = reinterpret_cast<const uint4*>(st) + my_strip * 64;
    const uint32_t* ss = reinterpret_cast<const uint32_t*>(st + kW) + my_strip * 16 + g;
    const unsigned char* sx = Norm ? reinterpret_cast<const unsigned char*>(normed_row) + 2 * 128 * kp + 16 * t
                                   : st + kW + kS + g * kXStride + 16 * t;
    const int g0 = (128 * kp) >> gs;
    if (tile * STRIPS + my_strip < strips_total) {
#pragma unroll
      for (int j = warp / STRIPS; j < 2; j += kChunkWarps) {
        const int c = 2 * kp + j;
        if (c >= chunks) break;
        const uint4 wv = sw[j * 32 + lane];
        float part[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) part[nt][e] = 0.0f;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int col = c * 64 + 32 * h;
          if (col >= k) break;  // padded columns: no activations staged
          const int gi = (col >> gs) - g0;
          const uint32_t s_lo = ss[gi * kRows], s_hi = ss[gi * kRows + 8];
          offset_half_chunk_mma<T, NT>(part, wv, h, s_lo, s_hi, sx + (64 * j + 32 * h) * 2, has);
          // Where a group ends, its sums take the group's scale (rows g and g + 8).
          if (gs == 5 || h == 1 || col + 32 >= k) {
            const float f_lo = scale_of<T>(s_lo), f_hi = scale_of<T>(s_hi);
#pragma unroll
            for (int nt = 0; nt < NT; ++nt) {
              acc[nt][0] += f_lo * part[nt][0];
              acc[nt][1] += f_lo * part[nt][1];
              acc[nt][2] += f_hi * part[nt][2];
              acc[nt][3] += f_hi * part[nt][3];
#pragma unroll
              for (int e = 0; e < 4; ++e) part[nt][e] = 0.0f;
            }
          }
        }
      }
    }
    __syncwarp();
    if (lane == 0) mbar_arrive(&empty[slot]);  // the stage is free for the unit a ring ahead

    if (kp == U - 1 || i == count - 1) {  // the block is done with this tile: its sums go out
      const long long tile_begin = (long long)tile * U;
      const bool whole = tile_begin >= begin && tile_begin + U <= end;
      if constexpr (kChunkWarps == 2) {  // warps w and w + 4 hold the two chunks of strip w
        float* shared_acc = pair_sums + my_strip * NT * 4 * 32 + lane;
        if (warp >= STRIPS)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) shared_acc[(nt * 4 + e) * 32] = acc[nt][e];
        named_barrier(1, kThreads - 32);
        if (warp < STRIPS)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[nt][e] += shared_acc[(nt * 4 + e) * 32];
        // Read before any warp writes its next tile's sums: a warp may run up to a ring of units
        // ahead, and a tile can be one unit long.
        named_barrier(1, kThreads - 32);
      }
      // The accumulator layout of m16n8k16: e 0, 1 are row g, e 2, 3 row g + 8; tokens 2t + e % 2.
      const int r0 = my_strip * 16 + g;  // the lane's first row within the tile
      if (whole) {
        if (warp < STRIPS)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int row = tile * kRows + r0 + 8 * (e / 2), tok = nt * 8 + 2 * t + (e & 1);
              if (row < n && tok < tokens) int4_store_output<T>(a, row, tok, acc[nt][e]);
            }
      } else {
        // Partials of a tile shared with other blocks: slot 0 for the block's first tile, 1 for its last.
        float* part = workspace + (size_t(blockIdx.x) * 2 + (tile == first_tile ? 0 : 1)) * kRows * kTok;
        if (warp < STRIPS)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int half = 0; half < 2; ++half)
              *reinterpret_cast<float2*>(part + (r0 + 8 * half) * kTok + nt * 8 + 2 * t) =
                  make_float2(acc[nt][2 * half], acc[nt][2 * half + 1]);
        __threadfence();
        named_barrier(1, kThreads - 32);
        // The tile's counter is its first block's (distinct for distinct shared tiles).
        const int c_first = p.block_of(tile_begin), c_last = p.block_of(tile_begin + U - 1);
        if (threadIdx.x == 0) {
          const unsigned arrived = atomicAdd(&counters[c_first], 1u);
          last_arrival = arrived == unsigned(c_last - c_first);
          if (last_arrival) counters[c_first] = 0;  // zero again for the next launch
        }
        named_barrier(1, kThreads - 32);
        if (last_arrival) {
          __threadfence();
          for (int e = int(threadIdx.x); e < kRows * kTok; e += kThreads - 32) {
            const int row = tile * kRows + e / kTok, tok = e % kTok;
            if (row >= n || tok >= tokens) continue;
            float v = 0.0f;
            for (int c = c_first; c <= c_last; ++c) {
              const int c_slot = p.begin(c) / U == tile ? 0 : 1;
              v += __ldcg(workspace + (size_t(c) * 2 + c_slot) * kRows * kTok + e);
            }
            int4_store_output<T>(a, row, tok, v);
          }
        }
        named_barrier(1, kThreads - 32);  // last_arrival is read by all before the next tile sets it
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[nt][e] = 0.0f;
    }
    if (++kp == U) kp = 0, ++tile;
    if (++slot == p.stages) slot = 0, ++round;
  }
#else
  // Other architectures' passes: never launched (init_int4_stream_gemm wants compute capability 9.0).
  (void)a, (void)p, (void)workspace, (void)counters, (void)norm;
#endif
}

template <typename T, int NT, bool Norm = false>
auto kernel_for() {
  return int4_stream_kernel<T, NT, strips_for(NT), Norm>;
}

// Raises each kernel's dynamic shared memory limit to `bytes` less its static shared memory (the two
// together may not pass the device's opt-in limit, or the call fails); throws where the largest ring
// does not fit.
template <typename T>
void set_smem_limit(int bytes) {
  auto set = [&](auto kernel) {
    cudaFuncAttributes attr{};
    TURBINE_CUDA_CHECK(cudaFuncGetAttributes(&attr, kernel));
    const int dynamic = bytes - int(attr.sharedSizeBytes);
    if (dynamic < 0 || size_t(dynamic) < ring_shape(8).smem_bytes)
      fail("cuda: the 4-bit stream GEMM's ring ({} bytes) does not fit {} bytes of shared memory",
           ring_shape(8).smem_bytes, dynamic);
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, dynamic));
  };
  set(kernel_for<T, 1>());
  set(kernel_for<T, 2>());
  set(kernel_for<T, 4>());
  set(kernel_for<T, 8>());
  set(kernel_for<T, 1, true>());
}

}  // namespace

Int4StreamPlan plan_int4_stream_gemm(const Int4Layout& layout, int tokens, int sms, int max_counters,
                                     const Int4StreamTuning& tuning, bool norm) {
  Int4StreamPlan p;
  const int group = layout.group_size;
  if (tokens < 1 || tokens > kInt4StreamMaxTokens || sms < 1 || layout.n < 1 || layout.k < 1) return p;
  if (norm && (tokens != 1 || layout.k > kInt4NormMaxK)) return p;
  if (layout.k % 32 != 0 || group < 32 || (group & (group - 1)) != 0) return p;
  p.token_tiles = tokens <= 8 ? 1 : tokens <= 16 ? 2 : tokens <= 32 ? 4 : 8;
  p.strips = strips_for(p.token_tiles);
  while ((1 << p.group_shift) < group) ++p.group_shift;
  p.tiles = int((layout.n_padded() / 16 + p.strips - 1) / p.strips);
  p.units_per_tile = int((layout.k_padded() / 64 + 1) / 2);
  const size_t ring_bytes = std::min<size_t>(size_t(std::max(tuning.ring_kib, 0)) * 1024, kMaxTuningRingBytes);
  p.norm = norm;
  const RingShape ring = ring_shape(p.token_tiles, ring_bytes, norm ? norm_row_bytes(layout) : 0);
  p.stages = ring.stages;
  p.smem_bytes = ring.smem_bytes;
  int per_sm = int(std::clamp<size_t>(kSmemPerSm / (p.smem_bytes + 1024), 1, min_blocks(p.token_tiles)));
  if (tuning.blocks_per_sm > 0) per_sm = std::min(per_sm, tuning.blocks_per_sm);
  p.blocks = int(std::min<long long>({(long long)sms * per_sm, p.units(), (long long)max_counters}));
  if (p.blocks < 1) return Int4StreamPlan{};
  p.workspace_bytes = size_t(p.blocks) * 2 * p.strips * 16 * p.token_tiles * 8 * sizeof(float);
  p.counters = p.blocks;
  return p;
}

bool init_int4_stream_gemm(int device) {
  int major = 0, minor = 0, optin = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  // Built for sm_90a only, which runs on compute capability 9.0 alone; there it must configure.
  if (major != 9 || minor != 0) return false;
  TURBINE_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const int limit = int(std::min<size_t>(size_t(optin), kSmemPerSm));
  set_smem_limit<__half>(limit);
  set_smem_limit<__nv_bfloat16>(limit);
  return true;
}

bool launch_int4_stream_gemm(const Int4GemmArgs& a, const Int4StreamPlan& plan, float* workspace,
                             unsigned* counters, const KernelLaunch& launch, const Int4NormInput* norm) {
  const Int4Layout& l = a.layout;
  if (plan.norm != (norm != nullptr)) return false;
  if (norm) {
    if (a.tokens != 1 || !norm->norm_weight || (norm->delta && !norm->residual_out)) return false;
    if (norm->residual_out == a.x || !aligned16({norm->delta, norm->norm_weight, norm->residual_out})) return false;
  }
  if (plan.blocks < 1 || a.tokens < 1 || a.tokens > plan.token_tiles * 8 || l.k % 32 != 0) return false;
  if ((1 << plan.group_shift) != l.group_size || plan.smem_bytes > kSmemPerSm) return false;
  if (!aligned16({a.x, a.w, a.scales}) || reinterpret_cast<uintptr_t>(a.out) % 4 != 0) return false;
  if (a.out_dtype != a.dtype && a.out_dtype != DType::F32) return false;
  if (a.dtype != DType::F16 && a.dtype != DType::BF16) return false;
  if (!counters || (plan.workspace_bytes > 0 && !workspace)) return false;
  const Int4NormInput no_norm;
  auto go = [&](auto kernel) {
    launch_pdl(kernel, dim3(unsigned(plan.blocks)), dim3(kThreads), plan.smem_bytes, launch, a, plan, workspace,
               counters, norm ? *norm : no_norm);
  };
  TURBINE_DISPATCH_HALF(a.dtype, {
    if (norm) {
      go(kernel_for<T, 1, true>());
      TURBINE_CUDA_LAUNCH_CHECK();
      return true;
    }
    switch (plan.token_tiles) {
      case 1: go(kernel_for<T, 1>()); break;
      case 2: go(kernel_for<T, 2>()); break;
      case 4: go(kernel_for<T, 4>()); break;
      case 8: go(kernel_for<T, 8>()); break;
      default: return false;
    }
  });
  TURBINE_CUDA_LAUNCH_CHECK();
  return true;
}

}  // namespace turbine::cuda
