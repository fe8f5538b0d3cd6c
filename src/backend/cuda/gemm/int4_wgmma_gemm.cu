// out[T, N] = x[T, K] @ w[N, K]^T with 4-bit weights, one 64-token tile per block, on Hopper's wgmma
// (m64n64k16) with the weights as its register A operand: each lane dequantizes its 16 bytes of a
// 64-column chunk (int4_gemm.h's packed words, which are the mma A fragments of four 16-column
// subtiles) into four fragments, and one wgmma per subtile multiplies them by all 64 tokens, where
// mma.sync (int4_tiled_gemm.cu) issues eight per subtile (one per 8 tokens). A chunk's products run
// while its warps issue the next chunks' copies and activations; the next chunk's dequantization
// waits for them (ptxas serializes wgmma whose register operands are redefined while they run), and
// the SM's other warps cover that wait.
//
// A block: two warpgroups, 128 output rows (warp w's strip is the block's strip w), and the chunks of
// its K split (int4_tiled_gemm.h's plan). Per chunk, a ring stage holds the tile's activations as
// wgmma's B operand (64 token rows of 128 bytes, K-major, 128-byte swizzle) and each lane's weight
// words and scale words (cp.async, read back by the lane that copied them). The activations go
// through registers: the packed k order inside a chunk (int4_gemm.h) puts a lane's activations of a
// half chunk in one 16-byte load whose four pairs belong to four places of the B rows, and one
// stmatrix of a warp moves 8 tokens' loads there (a 4 x 4 transpose among the lanes of a token).
// One barrier per chunk makes the chunk's activations visible to both warpgroups; a stage is written
// again only after every warp's products of it are done (the ring is deeper than the products in
// flight). Split K, the partials and the last block's sum are the tiled GEMM's.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/hopper.cuh"
#include "backend/cuda/gemm/int4_fragment.cuh"
#include "backend/cuda/gemm/int4_tiled_block.cuh"
#include "backend/cuda/gemm/int4_wgmma_gemm.h"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 256;  // two warpgroups of 64 rows
constexpr int kTokens = 64;    // wgmma's N
constexpr int kStages = 4;
constexpr int kAcc = kTokens / 2;  // fp32 accumulators a thread: 64 rows x 64 tokens over 128 threads
// A stage: the activations [8 token groups][8 rows][128 bytes] (1024-byte aligned for the swizzle),
// the weight words [thread] and the scale words [row g, g + 8][thread].
constexpr int kActBytes = kTokens * 128, kWeightBytes = kThreads * 16, kScaleBytes = kThreads * 8;
constexpr int kStageBytes = kActBytes + kWeightBytes + kScaleBytes;
static_assert(kStageBytes % 1024 == 0, "stages stay 1024-byte aligned");
constexpr size_t kSmemBytes = size_t(kStages) * kStageBytes + 1024;  // and the alignment slack
static_assert((kSmemBytes + 1024) * kInt4WgmmaBlocksPerSm <= 228 * 1024);
static_assert(kThreads / 32 * 16 == kInt4TiledRows, "one strip a warp");

#if TURBINE_HOPPER_DEVICE
// d[64 x 64] += a[64 x 16] * b[16 x 64] for one warpgroup: a from registers (each warp's 16 rows as
// the mma.sync m16n8k16 A fragment), b K-major in shared memory.
template <typename T>
__device__ __forceinline__ void wgmma_rs(float (&d)[kAcc], const uint32_t (&a)[4], uint64_t b) {
#define TURBINE_WGMMA_RS(PTX)                                                                                       \
  asm volatile(                                                                                                     \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                                                  \
      "wgmma.mma_async.sync.aligned.m64n64k16.f32." PTX "." PTX                                                     \
      " {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22,"  \
      " %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}"                    \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),      \
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),     \
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])                   \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1))
  if constexpr (std::is_same_v<T, __half>)
    TURBINE_WGMMA_RS("f16");
  else
    TURBINE_WGMMA_RS("bf16");
#undef TURBINE_WGMMA_RS
}
// Four 8 x 8 matrices of 16-bit values: register i of lane l is matrix i's row l / 4, values
// 2 (l % 4) and 2 (l % 4) + 1; lane l gives the address of matrix l / 8's row l % 8.
__device__ __forceinline__ void stmatrix_x4(void* row, const uint4& v) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(hopper::smem_addr(row)),
               "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
               : "memory");
}
// Generic-proxy writes to shared memory (stmatrix) made visible to wgmma, which reads through the
// async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }
__device__ __forceinline__ void fence_descriptor(uint64_t& d) { asm volatile("" : "+l"(d)::"memory"); }
#endif

// group_shift = log2(group / 64): a chunk's group is c >> group_shift.
template <typename T>
__global__ void __launch_bounds__(kThreads, kInt4WgmmaBlocksPerSm)
    int4_wgmma_gemm_kernel(Int4GemmArgs a, Int4TiledPlan plan, float* partials, unsigned* counters, int group_shift) {
#if TURBINE_HOPPER_DEVICE
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = smem_raw + ((1024 - hopper::smem_addr(smem_raw) % 1024) % 1024);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int n = int(a.layout.n), k = int(a.layout.k), tokens = a.tokens;
  const int np = (n + 15) / 16 * 16, strips = np / 16, chunks = (k + 63) / 64;  // Int4Layout's padding
  // This block's output tile, K split and chunks (int4_tiled_block.cuh).
  const Int4TiledBlock blk = int4_tiled_block(plan, chunks);
  const int split = blk.split, rb = blk.row_block, tile = blk.tile, c_begin = blk.first_chunk, nch = blk.chunks;
  const int tok0 = blk.token_tile * kTokens;
  const int strip_out = rb * (kThreads / 32) + warp;  // this warp's strip (unclamped: rows past N are not stored)
  const int strip = min(strip_out, strips - 1);
  const uint4* wp = reinterpret_cast<const uint4*>(a.w) + size_t(strip) * chunks * 32 + lane;
  const uint32_t* sp = a.scales + strip * 16 + g;  // row g; row g + 8 is 8 words on

  // The loop runs kStages chunks an iteration, so a chunk's ring slot (i % kStages) is a constant of
  // its code and every shared-memory address is a base plus a constant; the global addresses are
  // bases plus the chunk's offset. Slot S's stage is smem + S kStageBytes.
  using Slot0 = std::integral_constant<int, 0>;
  uint4* const w_ring = reinterpret_cast<uint4*>(smem + kActBytes) + tid;  // slot 0's weight words of this lane
  uint32_t* const s_ring = reinterpret_cast<uint32_t*>(smem + kActBytes + kWeightBytes) + tid;
  const uint4* const w_first = wp + size_t(c_begin) * 32;  // chunk i's words at w_first + 32 i
  // The block's chunk i (in slot S) of this lane's weight words and scale words, one commit group
  // (empty past the end).
  auto stage_weights = [&](int i, auto slot) {
    constexpr int S = decltype(slot)::value % kStages;
    if (i < nch) {
      cp_async16(w_ring + S * (kStageBytes / 16), w_first + 32 * i, true);
      const uint32_t* sw = sp + uint32_t((c_begin + i) >> group_shift) * uint32_t(np);
      cp_async4(s_ring + S * (kStageBytes / 4), sw, true);
      cp_async4(s_ring + S * (kStageBytes / 4) + kThreads, sw + 8, true);
    }
    cp_async_commit();
  };
  // A chunk's activations are 16 units of 8 tokens x 32 columns; warp w stages units w and w + 8:
  // token group u % 8, half chunk u / 8. Lane (g, t) loads token 8 (u % 8) + g's columns 8t .. 8t + 7
  // of the half: its pairs (2t, 2t + 1), (2t + 8, 2t + 9) of subtile 2h, then the same of 2h + 1 in
  // the packed k order, which stmatrix sends to 16-byte units 4h .. 4h + 3 of the token's row.
  // Unit w + 8q's load of chunk i is x_first[q] + 64 i, in K while 64 i < x_room[q] (0 for a token
  // past the last: it loads zeros).
  const T* x_first[2];
  int x_room[2];
  uint32_t x_place[2];  // where the lane's stmatrix row goes in slot 0's activations (bytes)
#pragma unroll
  for (int q = 0; q < 2; ++q) {
    const int u = warp + 8 * q, tok = tok0 + 8 * (u & 7) + g, col = c_begin * 64 + 32 * (u >> 3) + 8 * t;
    x_first[q] = static_cast<const T*>(a.x) + size_t(min(tok, tokens - 1)) * k + col;
    x_room[q] = tok < tokens ? k - col : 0;
    // The 128-byte swizzle: unit j of row r of an 8-row group lies at j ^ r.
    const int row = lane & 7, unit = 4 * (u >> 3) + (lane >> 3);
    x_place[q] = uint32_t((u & 7) * 1024 + row * 128 + ((unit ^ row) << 4));
  }
  uint4 xa[2];
  auto load_x = [&](int i) {
#pragma unroll
    for (int q = 0; q < 2; ++q)
      xa[q] = i < nch && 64 * i < x_room[q] ? load_after_wait(x_first[q] + 64 * i) : make_uint4(0, 0, 0, 0);
  };
  auto store_x = [&](auto slot) {
    constexpr int S = decltype(slot)::value % kStages;
#pragma unroll
    for (int q = 0; q < 2; ++q) stmatrix_x4(smem + S * kStageBytes + x_place[q], xa[q]);
    fence_proxy_async();
  };

  // Weights and scales are nobody's output: the first stages' go out before the PDL wait.
  stage_weights(0, Slot0{});
  stage_weights(1, std::integral_constant<int, 1>{});
  stage_weights(2, std::integral_constant<int, 2>{});
  static_assert(kStages == 4, "three stages ahead");
  pdl_launch_dependents();
  pdl_wait();
  load_x(0);
  store_x(Slot0{});
  load_x(1);

  float acc[kAcc];
#pragma unroll
  for (int e = 0; e < kAcc; ++e) acc[e] = 0.0f;
  // The descriptors of slot 0's four 16-column subtiles; slot S's are S kStageBytes on (the
  // descriptor's address field counts 16-byte units).
  const uint64_t desc0 = hopper::smem_desc_sw128(smem);
  // Chunk i, in slot S. Its products overlap the copies of the chunks after it, not the next chunk's
  // dequantization (the other warpgroups' work covers that): ptxas serializes wgmma where another
  // instruction defines one of their inputs (the next chunk's fragments, say) while they are in flight.
  auto chunk = [&](int i, auto slot) {
    constexpr int S = decltype(slot)::value;
    // Groups committed: kStages - 1 before the loop, one per chunk since; chunk i's is complete when
    // at most kStages - 2 remain.
    cp_async_wait<kStages - 2>();
    __syncthreads();  // chunk i's activations, stored by every warp, are visible
    const uint4 wv = w_ring[S * (kStageBytes / 16)];
    const uint32_t sg = s_ring[S * (kStageBytes / 4)], sg8 = s_ring[S * (kStageBytes / 4) + kThreads];
    uint32_t frag[2][2][4];  // [half][subtile of the half][register]
    int4_half_chunk_fragments<T>(make_uint2(wv.x, wv.y), sg, sg8, frag[0]);
    int4_half_chunk_fragments<T>(make_uint2(wv.z, wv.w), sg, sg8, frag[1]);
    uint64_t desc[4];  // defined before the fence too
#pragma unroll
    for (int s = 0; s < 4; ++s) desc[s] = desc0 + uint64_t((S * kStageBytes + 32 * s) >> 4), fence_descriptor(desc[s]);
#pragma unroll
    for (int e = 0; e < kAcc; ++e) hopper::wgmma_fence_operand(acc[e]);
    hopper::wgmma_fence();
#pragma unroll
    for (int s = 0; s < 4; ++s) wgmma_rs<T>(acc, frag[s / 2][s % 2], desc[s]);
    hopper::wgmma_commit();
    // While the products run: the next chunk's activations into its stage (last read by chunk
    // i + 1 - kStages, whose products every warp has waited for), the weights of chunk
    // i + kStages - 1 into the slot this lane read at chunk i - 1, and the activations after it into
    // registers. The stores go first: their proxy fence is a MEMBAR.ALL.CTA, which would also wait
    // for the copies issued just before it.
    if (i + 1 < nch) store_x(std::integral_constant<int, S + 1>{});
    stage_weights(i + kStages - 1, std::integral_constant<int, S + kStages - 1>{});
    load_x(i + 2);
    hopper::wgmma_wait_all();  // the fragments are free again
#pragma unroll
    for (int e = 0; e < kAcc; ++e) hopper::wgmma_fence_operand(acc[e]);
  };
  for (int i = 0; i < nch; i += kStages) {
    chunk(i, Slot0{});
    if (i + 1 < nch) chunk(i + 1, std::integral_constant<int, 1>{});
    if (i + 2 < nch) chunk(i + 2, std::integral_constant<int, 2>{});
    if (i + 3 < nch) chunk(i + 3, std::integral_constant<int, 3>{});
  }
  cp_async_wait<0>();  // no copy outlives the block

  if (plan.splits > 1) {
    // The tiled GEMM's partials: thread-major, kAcc x kThreads floats a block (128 rows x 64 tokens).
    float* mine = partials + (size_t(split) * plan.tiles() + tile) * kAcc * kThreads + tid;
#pragma unroll
    for (int e = 0; e < kAcc; ++e) __stcg(mine + e * kThreads, acc[e]);
    if (!int4_tiled_last_split(counters + tile, plan.splits)) return;
#pragma unroll
    for (int e = 0; e < kAcc; ++e) acc[e] = 0.0f;
    for (int s = 0; s < plan.splits; ++s) {
      const float* part = partials + (size_t(s) * plan.tiles() + tile) * kAcc * kThreads + tid;
#pragma unroll
      for (int e = 0; e < kAcc; ++e) acc[e] += __ldcg(part + e * kThreads);
    }
  }
  // Accumulator 4j + 2h + e: row g + 8h of the warp's strip, token 8j + 2t + e.
#pragma unroll
  for (int e = 0; e < kAcc; ++e) {
    const int row = strip_out * 16 + g + ((e >> 1) & 1) * 8, tok = tok0 + (e >> 2) * 8 + 2 * t + (e & 1);
    if (row < n && tok < tokens) int4_store_output<T>(a, row, tok, acc[e]);
  }
#else
  __trap();  // launched only on sm_90a (launch_int4_wgmma_gemm)
#endif
}

}  // namespace

bool launch_int4_wgmma_gemm(const Int4GemmArgs& a, const Int4TiledPlan& plan, float* workspace, unsigned* counters,
                            const KernelLaunch& launch) {
  if (!plan.wgmma || plan.token_tile != kTokens) return false;
  int shift = 0;
  while ((64 << shift) < a.layout.group_size) ++shift;
  auto launch_typed = [&](auto kernel) {
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmemBytes)));
    launch_pdl(kernel, dim3(unsigned(plan.blocks())), kThreads, kSmemBytes, launch, a, plan, workspace, counters,
               shift);
  };
  int device = 0, major = 0, minor = 0;
  TURBINE_CUDA_CHECK(cudaGetDevice(&device));
  TURBINE_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  TURBINE_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  if (major != 9 || minor != 0) return false;  // sm_90a only (the other passes have no body)
  if (a.dtype == DType::F16)
    launch_typed(int4_wgmma_gemm_kernel<__half>);
  else
    launch_typed(int4_wgmma_gemm_kernel<__nv_bfloat16>);
  return true;
}

}  // namespace turbine::cuda
