// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights, one tile of 16, 32 or 64 tokens per block, on
// Hopper's wgmma (m64n16k16 / m64n32k16 / m64n64k16) with the weights as its register A operand: each
// lane dequantizes its 16 bytes of a 64-column chunk (int4_gemm.h's packed words, which are the mma A
// fragments of four 16-column subtiles) into four fragments, and one wgmma per subtile multiplies them
// by all the tile's tokens, where mma.sync (int4_tiled_gemm.cu) issues one per subtile and 8 tokens.
// A chunk's products run while its warps issue the next chunks' copies and activations; the next
// chunk's dequantization waits for them (ptxas serializes wgmma whose register operands are redefined
// while they run), and the SM's other warps cover that wait.
//
// A block: one warpgroup, 128 output rows as two 64-row wgmma tiles (warp w's strips are the block's
// strips w and w + 4: two wgmma per subtile share one B operand), and the chunks of its K split
// (int4_tiled_gemm.h's plan). Per chunk, a ring stage holds the tile's activations as
// wgmma's B operand (a token row of 128 bytes each, K-major, 128-byte swizzle) and each lane's weight
// words and scale words (cp.async, read back by the lane that copied them). The activations go
// through registers: the packed k order inside a chunk (int4_gemm.h) puts a lane's activations of a
// half chunk in one 16-byte load whose four pairs belong to four places of the B rows, and one
// stmatrix of a warp moves 8 tokens' loads there (a 4 x 4 transpose among the lanes of a token).
// Where x's producer wrote it in that order already (int4_b_order.h; 64-token tiles), each 16-byte
// unit is one cp.async into the stage, issued with the weights' copies three chunks ahead.
// One barrier per chunk makes the chunk's activations visible to all warps; a stage is written
// again only after every warp's products of it are done (the ring is deeper than the products in
// flight). Split K (int4_tiled_gemm.h's plan) runs inside a thread-block cluster: a tile's splits are
// one cluster's blocks, which leave their sums in shared memory and each add one slice of all of them.
#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_arch.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/hopper.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_wgmma_gemm.h"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 128;  // one warpgroup
constexpr int kWarps = kThreads / 32;
constexpr int kStrips = 2;  // a warp's strips: w and w + 4 of the block (two 64-row wgmma tiles)
constexpr int kStages = 4;
constexpr int kWeightBytes = kStrips * kThreads * 16, kScaleBytes = kStrips * kThreads * 8;
static_assert(kWarps * kStrips * 16 == kInt4TiledRows, "two strips a warp");
// A token tile of N (wgmma's N: 16, 32 or 64). A stage: the activations [N / 8 token groups][8 rows]
// [128 bytes] (1024-byte aligned for the swizzle), the weight words [strip][thread] and the scale words
// [strip][row g, g + 8][thread].
template <int N>
struct Tile {
  static constexpr int kTokens = N;
  static constexpr int kAcc = N / 2;  // fp32 accumulators a thread and strip: 64 rows x N tokens over 128 threads
  static constexpr int kUnits = N / 4 / kWarps;  // activation units (8 tokens x 32 columns) a warp stages a chunk
  static constexpr int kActBytes = N * 128;
  static constexpr int kStageBytes = kActBytes + kWeightBytes + kScaleBytes;
  static_assert(kStageBytes % 1024 == 0, "stages stay 1024-byte aligned");
  static constexpr size_t kSmemBytes = size_t(kStages) * kStageBytes + 1024;  // and the alignment slack
  static_assert((kSmemBytes + 1024) * kInt4WgmmaBlocksPerSm <= 228 * 1024);
};

#if TURBINE_HOPPER_DEVICE
// d[64 x N] += a[64 x 16] * b[16 x N] for one warpgroup: a from registers (each warp's 16 rows as
// the mma.sync m16n8k16 A fragment), b K-major in shared memory. One specialization per N: the
// accumulator operand lists grow with it.
template <typename T, int N>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t b);
#define TURBINE_WGMMA_RS(N, TYPE, PTX, ACC, A, B, S, ...)                                                  \
  template <>                                                                                              \
  __device__ __forceinline__ void wgmma_rs<TYPE, N>(float(&d)[N / 2], const uint32_t(&a)[4], uint64_t b) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " S                                                     \
                 ", 0;\n"                                                                                  \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTX "." PTX " " ACC ", " A ", " B       \
                 ", p, 1, 1, 0;\n}"                                                                        \
                 : __VA_ARGS__                                                                             \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                            \
  }
#define TURBINE_WGMMA_RS_BOTH(N, ACC, A, B, S, ...)             \
  TURBINE_WGMMA_RS(N, __half, "f16", ACC, A, B, S, __VA_ARGS__) \
  TURBINE_WGMMA_RS(N, __nv_bfloat16, "bf16", ACC, A, B, S, __VA_ARGS__)
TURBINE_WGMMA_RS_BOTH(16, "{%0, %1, %2, %3, %4, %5, %6, %7}", "{%8, %9, %10, %11}", "%12", "%13", "+f"(d[0]),
                      "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]))
TURBINE_WGMMA_RS_BOTH(32, "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}",
                      "{%16, %17, %18, %19}", "%20", "%21", "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]),
                      "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]),
                      "+f"(d[13]), "+f"(d[14]), "+f"(d[15]))
TURBINE_WGMMA_RS_BOTH(64,
                      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "
                      "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}",
                      "{%32, %33, %34, %35}", "%36", "%37", "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]),
                      "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]),
                      "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
                      "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]),
                      "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]))
#undef TURBINE_WGMMA_RS_BOTH
#undef TURBINE_WGMMA_RS
// Four 8 x 8 matrices of 16-bit values: register i of lane l is matrix i's row l / 4, values
// 2 (l % 4) and 2 (l % 4) + 1; lane l gives the address of matrix l / 8's row l % 8.
__device__ __forceinline__ void stmatrix_x4(void* row, const uint4& v) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(hopper::smem_addr(row)),
               "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
               : "memory");
}
// Generic-proxy writes to shared memory (stmatrix, cp.async) made visible to wgmma, which reads through
// the async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }
__device__ __forceinline__ void fence_descriptor(uint64_t& d) { asm volatile("" : "+l"(d)::"memory"); }
__device__ __forceinline__ void wgmma_wait_one() { asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory"); }
#endif

// group_shift = log2(group / 64): a chunk's group is c >> group_shift. XOrdered: x is in B order
// (int4_b_order.h; 64-token tiles only).
template <typename T, int N, bool XOrdered = false>
__global__ void __launch_bounds__(kThreads, kInt4WgmmaBlocksPerSm)
    int4_wgmma_gemm_kernel(Int4GemmArgs a, Int4TiledPlan plan, int group_shift) {
#if TURBINE_HOPPER_DEVICE
  constexpr int kTokens = Tile<N>::kTokens, kAcc = Tile<N>::kAcc, kUnits = Tile<N>::kUnits;
  constexpr int kActBytes = Tile<N>::kActBytes, kStageBytes = Tile<N>::kStageBytes;
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = smem_raw + ((1024 - hopper::smem_addr(smem_raw) % 1024) % 1024);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, strips = np / 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  // This block's output tile, K split and chunks: a tile's splits are one cluster, split fastest.
  const int split = int(blockIdx.x) % plan.splits, tile = int(blockIdx.x) / plan.splits;
  const int rb = tile / plan.token_tiles, tok0 = tile % plan.token_tiles * kTokens;
  const int c_begin = int4_split_begin(chunks, plan.splits, split);
  const int nch = int4_split_begin(chunks, plan.splits, split + 1) - c_begin;
  // This warp's strips m = 0, 1: the block's strips w and w + 4, rows 16 w and 64 + 16 w of the two
  // 64-row wgmma tiles (unclamped: rows past N are not stored).
  int strip_out[kStrips];
  const uint4* w_first[kStrips];  // chunk i's words at w_first[m] + 32 i
  const uint32_t* sp[kStrips];    // row g's scale words; row g + 8 is 8 words on
#pragma unroll
  for (int m = 0; m < kStrips; ++m) {
    strip_out[m] = rb * kWarps * kStrips + m * kWarps + warp;
    const int strip = min(strip_out[m], strips - 1);
    w_first[m] = reinterpret_cast<const uint4*>(a.w) + (size_t(strip) * chunks + c_begin) * 32 + lane;
    sp[m] = a.scales + strip * 16 + g;
  }

  // The loop runs kStages chunks an iteration, so a chunk's ring slot (i % kStages) is a constant of
  // its code and every shared-memory address is a base plus a constant; the global addresses are
  // bases plus the chunk's offset. Slot S's stage is smem + S kStageBytes.
  using Slot0 = std::integral_constant<int, 0>;
  // Slot 0's weight words of this lane (strip m: m kThreads on) and scale words (strip m, row r:
  // (2m + r) kThreads on).
  uint4* const w_ring = reinterpret_cast<uint4*>(smem + kActBytes) + tid;
  uint32_t* const s_ring = reinterpret_cast<uint32_t*>(smem + kActBytes + kWeightBytes) + tid;
  // The block's chunk i (in slot S) of this lane's weight words and scale words, one commit group
  // (empty past the end).
  auto stage_weights = [&](int i, auto slot) {
    constexpr int S = decltype(slot)::value % kStages;
    if (i < nch) {
      const uint32_t group_words = uint32_t((c_begin + i) >> group_shift) * uint32_t(np);
#pragma unroll
      for (int m = 0; m < kStrips; ++m) {
        cp_async16(w_ring + S * (kStageBytes / 16) + m * kThreads, w_first[m] + 32 * i, true);
        const uint32_t* sw = sp[m] + group_words;
        cp_async4(s_ring + S * (kStageBytes / 4) + 2 * m * kThreads, sw, true);
        cp_async4(s_ring + S * (kStageBytes / 4) + (2 * m + 1) * kThreads, sw + 8, true);
      }
    }
  };
  // XOrdered: each 16-byte unit of x's B-order rows goes to its swizzled place in the stage by one
  // cp.async, in the weights' commit group and as far ahead, not through registers and stmatrix one
  // chunk ahead. Thread t copies units t % 8 of rows t / 8 + 16 q (q = 0..3): a warp's copy is four
  // whole 128-byte rows.
  static_assert(!XOrdered || N == 64, "B-order x at 64-token tiles");
  const T* x_row[4];
  bool row_ok[4];
  uint32_t x_dst = 0;
  const int xu = tid & 7, xr = (tid >> 3) & 7;
  if constexpr (XOrdered) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int tok = tok0 + 16 * q + (tid >> 3);
      row_ok[q] = tok < tokens;
      x_row[q] = static_cast<const T*>(a.x) + size_t(min(tok, tokens - 1)) * k + c_begin * 64 + 8 * xu;
    }
    x_dst = uint32_t((tid >> 6) * 1024 + xr * 128 + 16 * (xu ^ xr));
  }
  auto stage_acts = [&](int i, auto slot) {
    constexpr int S = decltype(slot)::value % kStages;
    if constexpr (XOrdered) {
      if (i >= nch) return;  // B order has whole chunks (the launcher checks): every chunk is in K
#pragma unroll
      for (int q = 0; q < 4; ++q) cp_async16(smem + S * kStageBytes + 2048 * q + x_dst, x_row[q] + 64 * i, row_ok[q]);
    }
  };
  // A chunk's activations are N / 4 units of 8 tokens x 32 columns; warp w stages units w + 4q:
  // token group u % 8, half chunk u / 8. Lane (g, t) loads token 8 (u % 8) + g's columns 8t .. 8t + 7
  // of the half: its pairs (2t, 2t + 1), (2t + 8, 2t + 9) of subtile 2h, then the same of 2h + 1 in
  // the packed k order, which stmatrix sends to 16-byte units 4h .. 4h + 3 of the token's row.
  // Unit w + 4q's load of chunk i is x_first[q] + 64 i, in K while 64 i < x_room[q] (0 for a token
  // past the last: it loads zeros).
  const T* x_first[kUnits];
  int x_room[kUnits];
  uint32_t x_place[kUnits];  // where the lane's stmatrix row goes in slot 0's activations (bytes)
#pragma unroll
  for (int q = 0; q < kUnits; ++q) {
    const int u = warp + kWarps * q, group = int(unsigned(u) % (N / 8)), half = int(unsigned(u) / (N / 8));
    const int tok = tok0 + 8 * group + g, col = c_begin * 64 + 32 * half + 8 * t;
    x_first[q] = static_cast<const T*>(a.x) + size_t(min(tok, tokens - 1)) * k + col;
    x_room[q] = tok < tokens ? k - col : 0;
    // The 128-byte swizzle: unit j of row r of an 8-row group lies at j ^ r.
    const int row = lane & 7, unit = 4 * half + (lane >> 3);
    x_place[q] = uint32_t(group * 1024 + row * 128 + ((unit ^ row) << 4));
  }
  uint4 xa[kUnits];
  auto load_x = [&](int i) {
#pragma unroll
    for (int q = 0; q < kUnits; ++q)
      xa[q] = i < nch && 64 * i < x_room[q] ? load_after_wait(x_first[q] + 64 * i) : make_uint4(0, 0, 0, 0);
  };
  auto store_x = [&](auto slot) {
    constexpr int S = decltype(slot)::value % kStages;
#pragma unroll
    for (int q = 0; q < kUnits; ++q) stmatrix_x4(smem + S * kStageBytes + x_place[q], xa[q]);
    fence_proxy_async();
  };

  // Weights and scales are nobody's output: the first stages' go out before the PDL wait.
  stage_weights(0, Slot0{});
  cp_async_commit();
  stage_weights(1, std::integral_constant<int, 1>{});
  cp_async_commit();
  stage_weights(2, std::integral_constant<int, 2>{});
  cp_async_commit();
  static_assert(kStages == 4, "three stages ahead");
  pdl_launch_dependents();
  pdl_wait();
  if constexpr (XOrdered) {
    stage_acts(0, Slot0{});
    stage_acts(1, std::integral_constant<int, 1>{});
    stage_acts(2, std::integral_constant<int, 2>{});
    cp_async_commit();
    cp_async_wait<0>();  // chunk 0's activations are in the last group
  } else {
    load_x(0);
    store_x(Slot0{});
    load_x(1);
  }

  float acc[kStrips][kAcc];
#pragma unroll
  for (int m = 0; m < kStrips; ++m)
#pragma unroll
    for (int e = 0; e < kAcc; ++e) acc[m][e] = 0.0f;
  auto fence_accumulators = [&] {
#pragma unroll
    for (int m = 0; m < kStrips; ++m)
#pragma unroll
      for (int e = 0; e < kAcc; ++e) hopper::wgmma_fence_operand(acc[m][e]);
  };
  // The descriptors of slot 0's four 16-column subtiles; slot S's are S kStageBytes on (the
  // descriptor's address field counts 16-byte units).
  const uint64_t desc0 = hopper::smem_desc_sw128(smem);
  // Chunk i, in slot S. Its products overlap the copies of the chunks after it. ptxas serializes wgmma
  // where another instruction defines one of their inputs while they are in flight, so whether they
  // also overlap the next chunk's dequantization depends on the registers: at 16- and 32-token tiles
  // (kOverlap) even and odd chunks' fragments have their own, and chunk i is dequantized while chunk
  // i - 1's products run (wgmma.wait_group 1); at 64-token tiles the second set would spill (the
  // accumulators take 64 registers), so each chunk waits for its products and the SM's other blocks
  // cover that wait.
  constexpr bool kOverlap = N <= 32;
  uint32_t frags[kOverlap ? 2 : 1][kStrips][2][2][4];  // [chunk parity][strip][half][subtile of the half][register]
  auto chunk = [&](int i, auto slot) {
    constexpr int S = decltype(slot)::value;
    // Groups committed: kStages - 1 before the loop, one per chunk since; chunk i's is complete when
    // at most kStages - 2 remain.
    cp_async_wait<kStages - 2>();
    if constexpr (XOrdered) fence_proxy_async();  // this thread's copies of them, for wgmma's async proxy
    __syncthreads();  // chunk i's activations, stored by every warp, are visible
    auto& frag = frags[kOverlap ? S & 1 : 0];
#pragma unroll
    for (int m = 0; m < kStrips; ++m) {
      const uint4 wv = w_ring[S * (kStageBytes / 16) + m * kThreads];
      const uint32_t sg = s_ring[S * (kStageBytes / 4) + 2 * m * kThreads];
      const uint32_t sg8 = s_ring[S * (kStageBytes / 4) + (2 * m + 1) * kThreads];
      int4_half_chunk_fragments<T>(make_uint2(wv.x, wv.y), sg, sg8, frag[m][0]);
      int4_half_chunk_fragments<T>(make_uint2(wv.z, wv.w), sg, sg8, frag[m][1]);
    }
    uint64_t desc[4];  // defined before the fence too
#pragma unroll
    for (int s = 0; s < 4; ++s) desc[s] = desc0 + uint64_t((S * kStageBytes + 32 * s) >> 4), fence_descriptor(desc[s]);
    if constexpr (!kOverlap) fence_accumulators();  // with kOverlap they are in flight: no other definition
    hopper::wgmma_fence();
#pragma unroll
    for (int s = 0; s < 4; ++s)
#pragma unroll
      for (int m = 0; m < kStrips; ++m) wgmma_rs<T, N>(acc[m], frag[m][s / 2][s % 2], desc[s]);
    hopper::wgmma_commit();
    // While the products run: the next chunk's activations into its stage (last read by chunk
    // i + 1 - kStages, whose products every warp has waited for), the weights of chunk
    // i + kStages - 1 into the slot this lane read at chunk i - 1, and the activations after it into
    // registers. The stores go first: their proxy fence is a MEMBAR.ALL.CTA, which would also wait
    // for the copies issued just before it.
    if constexpr (!XOrdered)
      if (i + 1 < nch) store_x(std::integral_constant<int, S + 1>{});
    stage_weights(i + kStages - 1, std::integral_constant<int, S + kStages - 1>{});
    stage_acts(i + kStages - 1, std::integral_constant<int, S + kStages - 1>{});
    cp_async_commit();
    if constexpr (!XOrdered) load_x(i + 2);
    if constexpr (kOverlap) {
      wgmma_wait_one();  // chunk i - 1's products are done: its fragments are free again
    } else {
      hopper::wgmma_wait_all();  // the fragments are free again
      fence_accumulators();
    }
  };
  if constexpr (kOverlap) {
    // The last chunk leaves the loop (break, not a skipped call): on every path from a chunk back to
    // the loop's top, the next chunk is the one after it, so ptxas sees that a chunk's fragments are
    // written only after the products two chunks before are done, and keeps the products of
    // consecutive chunks in flight together (a skipped call would serialize every wgmma: C7513).
    for (int i = 0; nch > 0; i += kStages) {
      chunk(i, Slot0{});
      if (i + 1 >= nch) break;
      chunk(i + 1, std::integral_constant<int, 1>{});
      if (i + 2 >= nch) break;
      chunk(i + 2, std::integral_constant<int, 2>{});
      if (i + 3 >= nch) break;
      chunk(i + 3, std::integral_constant<int, 3>{});
      if (i + 4 >= nch) break;
    }
    hopper::wgmma_wait_all();
    fence_accumulators();
  } else {
    for (int i = 0; i < nch; i += kStages) {
      chunk(i, Slot0{});
      if (i + 1 < nch) chunk(i + 1, std::integral_constant<int, 1>{});
      if (i + 2 < nch) chunk(i + 2, std::integral_constant<int, 2>{});
      if (i + 3 < nch) chunk(i + 3, std::integral_constant<int, 3>{});
    }
  }
  cp_async_wait<0>();  // no copy outlives the block

  if (plan.splits > 1) {
    // Split K inside the cluster: each block puts its sums in its shared memory (thread-major float4,
    // the ring's bytes: every warp is past its last chunk after the barrier), then block r adds the
    // r-th slice of every block's sums, in split order, and writes that slice of the tile.
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    __syncthreads();
    constexpr int kVectors = kStrips * kAcc / 4, kSumUnits = kVectors * kThreads;
    static_assert(kAcc % 4 == 0 && kSumUnits * 16 <= kStages * kStageBytes);
    float4* sums = reinterpret_cast<float4*>(smem);
    const float* flat = &acc[0][0];
#pragma unroll
    for (int v = 0; v < kVectors; ++v)
      sums[v * kThreads + tid] = make_float4(flat[4 * v], flat[4 * v + 1], flat[4 * v + 2], flat[4 * v + 3]);
    cluster.sync();
    const int per = (kSumUnits + plan.splits - 1) / plan.splits, u_end = min(kSumUnits, (split + 1) * per);
    for (int u = split * per + tid; u < u_end; u += kThreads) {
      float4 part[kInt4WgmmaMaxSplits];
#pragma unroll
      for (int s = 0; s < kInt4WgmmaMaxSplits; ++s)
        if (s < plan.splits) part[s] = cluster.map_shared_rank(sums, s)[u];
      float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
      for (int s = 0; s < kInt4WgmmaMaxSplits; ++s)
        if (s < plan.splits) sum.x += part[s].x, sum.y += part[s].y, sum.z += part[s].z, sum.w += part[s].w;
      // Unit u is thread i's accumulators 4v .. 4v + 3 of strip m = 4v / kAcc, e = 4v % kAcc ..: rows g
      // and g + 8 of that strip, tokens 8 (e / 4) + 2t and + 1 (the layout below).
      const int v = u / kThreads, i = u % kThreads, m = 4 * v / kAcc, e = 4 * v % kAcc;
      const int ig = (i & 31) >> 2, it = i & 3, strip = rb * kWarps * kStrips + m * kWarps + (i >> 5);
      const int row = strip * 16 + ig, tok = tok0 + 8 * (e >> 2) + 2 * it;
      const float val[4] = {sum.x, sum.y, sum.z, sum.w};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int r = row + (q >> 1) * 8, tk = tok + (q & 1);
        if (r < n && tk < tokens) int4_store_output<T>(a, r, tk, val[q]);
      }
    }
    cluster.sync();  // no block leaves while another reads its shared memory
    return;
  }
  // Accumulator 4j + 2h + e of strip m: row g + 8h of the warp's strip m, token 8j + 2t + e.
#pragma unroll
  for (int m = 0; m < kStrips; ++m)
#pragma unroll
    for (int e = 0; e < kAcc; ++e) {
      const int row = strip_out[m] * 16 + g + ((e >> 1) & 1) * 8, tok = tok0 + (e >> 2) * 8 + 2 * t + (e & 1);
      if (row < n && tok < tokens) int4_store_output<T>(a, row, tok, acc[m][e]);
    }
#else
  __trap();  // launched only on sm_90a (init_int4_wgmma_gemm)
#endif
}

template <typename T>
void configure_tiles() {
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(int4_wgmma_gemm_kernel<T, 16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          int(Tile<16>::kSmemBytes)));
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(int4_wgmma_gemm_kernel<T, 32>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          int(Tile<32>::kSmemBytes)));
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(int4_wgmma_gemm_kernel<T, 64>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          int(Tile<64>::kSmemBytes)));
  TURBINE_CUDA_CHECK(cudaFuncSetAttribute(int4_wgmma_gemm_kernel<T, 64, true>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile<64>::kSmemBytes)));
}

// The most clusters of each size (1..kInt4WgmmaMaxSplits blocks) of the N-token kernel resident at once,
// the least over both dtypes' instances; 0 where the driver cannot say (the plan then models the waves
// from the resident blocks, as without a count).
template <int N>
void count_clusters(int (&most)[kInt4WgmmaMaxSplits + 1]) {
  for (int size = 1; size <= kInt4WgmmaMaxSplits; ++size) {
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(unsigned(size));
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = Tile<N>::kSmemBytes;
    cudaLaunchAttribute attribute;
    attribute.id = cudaLaunchAttributeClusterDimension;
    attribute.val.clusterDim.x = unsigned(size), attribute.val.clusterDim.y = 1, attribute.val.clusterDim.z = 1;
    config.attrs = &attribute;
    config.numAttrs = 1;
    int f16 = 0, bf16 = 0;
    if (cudaOccupancyMaxActiveClusters(&f16, int4_wgmma_gemm_kernel<__half, N>, &config) != cudaSuccess ||
        cudaOccupancyMaxActiveClusters(&bf16, int4_wgmma_gemm_kernel<__nv_bfloat16, N>, &config) != cudaSuccess) {
      (void)cudaGetLastError();  // a query's error is not sticky: clear it, count nothing
      f16 = bf16 = 0;
    }
    most[size] = std::min(f16, bf16);
  }
}

}  // namespace

bool init_int4_wgmma_gemm(int device, Int4WgmmaClusters& clusters) {
  if (!runs_sm90a(device)) return false;  // the other passes have no body
  configure_tiles<__half>();
  configure_tiles<__nv_bfloat16>();
  count_clusters<16>(clusters.most[0]);
  count_clusters<32>(clusters.most[1]);
  count_clusters<64>(clusters.most[2]);
  return true;
}

bool launch_int4_wgmma_gemm(const Int4GemmArgs& a, const Int4TiledPlan& plan, const KernelLaunch& launch) {
  if (!plan.wgmma || (plan.token_tile != 16 && plan.token_tile != 32 && plan.token_tile != 64)) return false;
  if (plan.splits > kInt4WgmmaMaxSplits) return false;
  // B-order x: 64-token tiles of whole chunks.
  if (a.x_b_order && (plan.token_tile != 64 || a.layout.k % 64 != 0)) return false;
  int shift = 0;
  while ((64 << shift) < a.layout.group_size) ++shift;
  auto launch_tile = [&](auto tile) {
    constexpr int N = decltype(tile)::value;
    auto kernel = a.dtype == DType::F16 ? int4_wgmma_gemm_kernel<__half, N> : int4_wgmma_gemm_kernel<__nv_bfloat16, N>;
    if constexpr (N == 64)
      if (a.x_b_order)
        kernel = a.dtype == DType::F16 ? int4_wgmma_gemm_kernel<__half, 64, true>
                                       : int4_wgmma_gemm_kernel<__nv_bfloat16, 64, true>;
    constexpr size_t smem = Tile<N>::kSmemBytes;
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(unsigned(plan.blocks()));
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = smem;
    config.stream = launch.stream;
    cudaLaunchAttribute attribute[2];
    attribute[0].id = cudaLaunchAttributeClusterDimension;
    attribute[0].val.clusterDim.x = unsigned(plan.splits), attribute[0].val.clusterDim.y = 1;
    attribute[0].val.clusterDim.z = 1;
    attribute[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute[1].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = attribute;
    config.numAttrs = launch.pdl ? 2 : 1;
    TURBINE_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, a, plan, shift));
  };
  if (plan.token_tile == 16)
    launch_tile(std::integral_constant<int, 16>{});
  else if (plan.token_tile == 32)
    launch_tile(std::integral_constant<int, 32>{});
  else
    launch_tile(std::integral_constant<int, 64>{});
  return true;
}

}  // namespace turbine::cuda
