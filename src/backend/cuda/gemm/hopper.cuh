// Hopper (sm_90a) building blocks for the wgmma GEMM: mbarriers, TMA tile loads and warpgroup
// matrix multiply-accumulate. Everything here compiles only in the sm_90a pass
// (TURBINE_HOPPER_DEVICE); the other passes see empty bodies and never launch the callers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>

#include <cstdint>

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TURBINE_HOPPER_DEVICE 1
#else
#define TURBINE_HOPPER_DEVICE 0
#endif

namespace turbine::cuda::hopper {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

#if TURBINE_HOPPER_DEVICE
// --- mbarrier: a shared-memory barrier that also counts bytes delivered by TMA.
__device__ __forceinline__ void mbar_init(uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(count));
}
// Makes the initialised barriers visible to the async (TMA) proxy.
__device__ __forceinline__ void mbar_fence_init() { asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory"); }
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void mbar_expect_bytes(uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
// Blocks until the barrier's phase of the given parity (0 or 1) has completed.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, unsigned parity) {
  asm volatile(
      "{\n.reg .pred done;\nwait_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n}" ::"r"(smem_addr(bar)),
      "r"(parity)
      : "memory");
}

// --- TMA: a 2-D box of a tensor map into shared memory; the barrier learns the bytes on arrival.
// `policy` is an L2 cache policy (see evict_first_policy).
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, int x, int y, uint64_t* bar,
                                            uint64_t policy) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
      " [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(smem_addr(dst)),
      "l"(map), "r"(x), "r"(y), "r"(smem_addr(bar)), "l"(policy)
      : "memory");
}
// Data read once (weights) should leave L2 first, so what is reused (activations) stays.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  return policy;
}
__device__ __forceinline__ uint64_t evict_normal_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;" : "=l"(policy));
  return policy;
}
__device__ __forceinline__ void prefetch_tensor_map(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];" ::"l"(map) : "memory");
}

// --- Named barrier for a subset of the block's warps (id 0 is __syncthreads).
__device__ __forceinline__ void named_barrier(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

// --- wgmma. A shared-memory matrix descriptor for a K-major operand stored as rows of 64
// fp16/bf16 values (128 bytes) with the 128-byte swizzle, the layout TMA writes with
// CU_TENSOR_MAP_SWIZZLE_128B. Groups of 8 rows are 1024 bytes apart; the tile must start on a
// 1024-byte boundary, and a K offset inside the 64 values is a plain byte offset of the start.
__device__ __forceinline__ uint64_t smem_desc_sw128(const void* p) {
  const uint64_t addr = smem_addr(p);
  return ((addr & 0x3FFFF) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) | (uint64_t(1) << 62);
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
// Keeps the compiler from moving accesses of an accumulator register across wgmma fences.
__device__ __forceinline__ void wgmma_fence_operand(float& r) { asm volatile("" : "+f"(r)::"memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }

// d[64 x N] += a[64 x 16] * b[16 x N] for one warpgroup, fp32 accumulators (N / 2 per thread),
// both operands K-major in shared memory. Accumulator element 4j + 2h + e of a thread in warp w
// (of the warpgroup) is row 16w + lane / 4 + 8h, column 8j + 2 (lane % 4) + e.
template <int N, typename T>
__device__ void wgmma(float* d, uint64_t a, uint64_t b);
// One specialization per width and dtype: the accumulator operand lists grow with N. ACC is the
// register list, A/B/S the operand numbers of the two descriptors and of scale-d (1: accumulate).
#define TURBINE_WGMMA(N, TYPE, PTX, ACC, A, B, S, ...)                                               \
  template <>                                                                                        \
  __device__ __forceinline__ void wgmma<N, TYPE>(float* d, uint64_t a, uint64_t b) {                 \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " S                                               \
                 ", 0;\n"                                                                            \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTX "." PTX " " ACC ", " A ", " B \
                 ", p, 1, 1, 0, 0;\n}"                                                               \
                 : __VA_ARGS__                                                                       \
                 : "l"(a), "l"(b), "r"(1));                                                          \
  }
#define TURBINE_WGMMA_BOTH(N, ACC, A, B, S, ...)             \
  TURBINE_WGMMA(N, __half, "f16", ACC, A, B, S, __VA_ARGS__) \
  TURBINE_WGMMA(N, __nv_bfloat16, "bf16", ACC, A, B, S, __VA_ARGS__)
TURBINE_WGMMA_BOTH(8, "{%0, %1, %2, %3}", "%4", "%5", "%6", "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]))
TURBINE_WGMMA_BOTH(16, "{%0, %1, %2, %3, %4, %5, %6, %7}", "%8", "%9", "%10", "+f"(d[0]), "+f"(d[1]), "+f"(d[2]),
                   "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]))
TURBINE_WGMMA_BOTH(32, "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}", "%16", "%17", "%18",
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]))
TURBINE_WGMMA_BOTH(48,
                   "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
                   "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23}",
                   "%24", "%25", "%26", "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
                   "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
                   "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
                   "+f"(d[21]), "+f"(d[22]), "+f"(d[23]))
#undef TURBINE_WGMMA_BOTH
#undef TURBINE_WGMMA
#endif  // TURBINE_HOPPER_DEVICE

}  // namespace turbine::cuda::hopper
