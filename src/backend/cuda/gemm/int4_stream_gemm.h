// Launcher of int4_stream_gemm.cu: int4_gemm.h's W4A16 product for 1..64 tokens (decode and small
// batches) as one stream of weights through shared memory, on Hopper (compute capability 9.0).
//
// The work is cut into units: one output tile (4 strips of 16 rows up to 16 tokens, 8 strips above)
// times one pair of 64-column chunks. A persistent grid of a few blocks per SM takes the units in
// order, each block one contiguous range of them (stream-K), so every block streams the same number
// of bytes whatever the shape. A tile cut by a range boundary is finished by the last of its blocks
// to arrive: each writes fp32 partial sums, and the last adds them in block order (repeated launches
// give the same bits).
// At one token it can also take its input from the op before it (Int4NormInput, as the skinny GEMM
// does for 16-bit weights): every block computes rms_norm(x + delta) * norm_weight over the whole row
// into shared memory while the first weights stream in, so the 4-bit layer runs no norm kernel.
#pragma once
#include <cstddef>

#include "backend/cuda/gemm/int4_gemm.h"
#include "backend/cuda_options.h"  // kInt4StreamMaxTokens, this kernel's limit

namespace turbine::cuda {

struct Int4StreamPlan {
  int token_tiles = 0;  // mma token tiles of 8: 1, 2, 4 or 8
  int strips = 0;       // 16-row strips per output tile: 4 or 8
  int group_shift = 0;  // log2 of the group size
  int tiles = 0, units_per_tile = 0;
  int blocks = 0;  // 0: the shape is not taken
  int stages = 0;  // units in the shared-memory ring
  size_t smem_bytes = 0;
  size_t workspace_bytes = 0;  // fp32 partials: two tiles' worth per block
  int counters = 0;            // zeroed counters the launch needs (one per block), left zero
  bool norm = false;           // takes an Int4NormInput (one token): the normed row in shared memory

  __host__ __device__ long long units() const { return (long long)tiles * units_per_tile; }
  // Block b's units are [begin(b), begin(b + 1)).
  __host__ __device__ long long begin(int b) const { return units() * b / blocks; }
  // The block whose range holds unit u.
  __host__ __device__ int block_of(long long u) const { return int(((u + 1) * blocks - 1) / units()); }
};

// Overrides of the plan's choices for int4_linear_bench's sweep (0: the default): resident blocks per
// SM (at most what the registers allow) and the ring's bytes per block (the stages stay 3 to 8, and
// the ring at most kMaxTuningRingBytes).
struct Int4StreamTuning {
  int blocks_per_sm = 0;
  int ring_kib = 0;
};
constexpr int kMaxTuningRingBytes = 200 * 1024;

// The plan for `tokens` tokens on `sms` multiprocessors (blocks = 0 when the kernel does not take the
// shape: more than 64 tokens, a group size that is not a power of two of at least 32, or fewer
// counters than blocks could need; with `norm`, more than one token or more than kInt4NormMaxK columns).
Int4StreamPlan plan_int4_stream_gemm(const Int4Layout& layout, int tokens, int sms, int max_counters,
                                     const Int4StreamTuning& tuning = {}, bool norm = false);

// The fused input: x (Int4GemmArgs::x) is the residual stream's row, and the product takes
// rms_norm(x + delta) * norm_weight instead, rounded to the dtype as rms_norm's kernel rounds it;
// with delta, block 0 writes x + delta (rounded to the dtype) to residual_out, which must not be x.
struct Int4NormInput {
  const void* delta = nullptr;        // [1, K] or null
  const void* norm_weight = nullptr;  // [K]
  void* residual_out = nullptr;       // [1, K], with delta
  float eps = 0.0f;
};
// The widest row the fused input takes (the normed row lives in each block's shared memory).
constexpr int kInt4NormMaxK = 16384;

// Raises the kernels' shared-memory limit; false where they cannot run (not compute capability 9.0).
// Once per device, before the first launch. Throws Error where a Hopper device refuses the limit.
bool init_int4_stream_gemm(int device);

// Returns false (nothing launched) for what launch_int4_gemm refuses too, and for a plan that does
// not fit the arguments (`norm` given exactly when plan.norm). `workspace` must hold
// plan.workspace_bytes and `counters` plan.counters zeros.
bool launch_int4_stream_gemm(const Int4GemmArgs& args, const Int4StreamPlan& plan, float* workspace, unsigned* counters,
                             const KernelLaunch& launch, const Int4NormInput* norm = nullptr);

}  // namespace turbine::cuda
