// Sampling candidates on the GPU: per logits row the k largest values (radix select of the k-th
// largest, an ordered gather, a bitonic sort in shared memory) and the softmax normaliser, so
// the host gets k (id, value) pairs instead of the whole row.
#include <climits>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/sampling/top_candidates.h"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;

// An unsigned key that orders like the floats: larger value, larger key; NaN lowest (0);
// -0 and +0 equal, as they compare on the host.
__device__ __forceinline__ uint32_t order_key(float x) {
  if (x != x) return 0u;
  uint32_t b = __float_as_uint(x);
  if (b == 0x80000000u) b = 0u;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Candidate a goes before b: larger key, then lower id.
__device__ __forceinline__ bool before(uint32_t ka, int32_t ia, uint32_t kb, int32_t ib) {
  return ka > kb || (ka == kb && ia < ib);
}

__global__ void __launch_bounds__(kThreads)
    top_candidates_kernel(const float* logits, int vocab, const int32_t* rows, const float* temperatures, int k,
                          int sort_len, int32_t* out_ids, float* out_values, float* out_max, float* out_sum) {
  __shared__ uint32_t hist[kWarps][256];
  __shared__ uint32_t cand_key[kMaxCandidatesPow2];
  __shared__ int32_t cand_id[kMaxCandidatesPow2];
  __shared__ uint32_t s_bin, s_remaining;
  __shared__ int s_greater;
  __shared__ int warp_total[kWarps];
  __shared__ float warp_sum[kWarps];

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int r = blockIdx.x;
  const float* row = logits + size_t(rows[r]) * vocab;

  // 1. Radix select, 8 bits a pass from the top: the key of the k-th largest element (`prefix`)
  //    and how many elements equal to it belong to the top k (`remaining`).
  uint32_t prefix = 0, mask = 0, remaining = uint32_t(k);
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = tid; i < kWarps * 256; i += kThreads) (&hist[0][0])[i] = 0;
    __syncthreads();
    for (int i = tid; i < vocab; i += kThreads) {
      const uint32_t key = order_key(row[i]);
      if ((key & mask) == prefix) atomicAdd(&hist[warp][(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (tid < 256) {  // each thread sums its own bin over the warps' histograms
      uint32_t s = 0;
      for (int w = 0; w < kWarps; ++w) s += hist[w][tid];
      hist[0][tid] = s;
    }
    __syncthreads();
    if (warp == 0) {
      // The bin holding the remaining-th largest, counted from the top: lane l sums bins
      // 255-8l .. 248-8l, a scan over lanes finds the lane where the count crosses, it scans its 8.
      uint32_t c[8], lane_sum = 0;
      for (int j = 0; j < 8; ++j) lane_sum += c[j] = hist[0][255 - 8 * lane - j];
      uint32_t incl = lane_sum;
      for (int o = 1; o < 32; o <<= 1) {
        const uint32_t n = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += n;
      }
      uint32_t above = incl - lane_sum;
      if (above < remaining && incl >= remaining) {
        for (int j = 0; j < 8; ++j) {
          if (above + c[j] >= remaining) {
            s_bin = uint32_t(255 - 8 * lane - j);
            s_remaining = remaining - above;
            break;
          }
          above += c[j];
        }
      }
    }
    __syncthreads();
    prefix |= s_bin << shift;
    mask |= 255u << shift;
    remaining = s_remaining;
  }
  const uint32_t kth = prefix;
  const int need_equal = int(remaining);
  const int greater = k - need_equal;

  // 2. Gather: every key above the k-th (any order, sorted below) and the first `need_equal`
  //    keys equal to it in id order (a block-wide ordered count per tile).
  if (tid == 0) s_greater = 0;
  __syncthreads();
  int equal_seen = 0;  // same value in every thread
  for (int base = 0; base < vocab; base += kThreads) {
    const int i = base + tid;
    const uint32_t key = i < vocab ? order_key(row[i]) : 0u;
    if (i < vocab && key > kth) {
      const int slot = atomicAdd(&s_greater, 1);
      cand_key[slot] = key;
      cand_id[slot] = i;
    }
    const bool equal = i < vocab && key == kth && equal_seen < need_equal;
    const unsigned ballot = __ballot_sync(0xffffffffu, equal);
    if (lane == 0) warp_total[warp] = __popc(ballot);
    __syncthreads();
    int below = 0, total = 0;
    for (int w = 0; w < kWarps; ++w) {
      const int t = warp_total[w];
      below += w < warp ? t : 0;
      total += t;
    }
    if (equal) {
      const int rank = equal_seen + below + __popc(ballot & ((1u << lane) - 1u));
      if (rank < need_equal) {
        cand_key[greater + rank] = key;
        cand_id[greater + rank] = i;
      }
    }
    equal_seen += total;
    __syncthreads();
  }

  // 3. Bitonic sort of the k candidates (padded to a power of two with entries that sort last).
  for (int i = k + tid; i < sort_len; i += kThreads) {
    cand_key[i] = 0u;
    cand_id[i] = INT_MAX;
  }
  __syncthreads();
  for (int size = 2; size <= sort_len; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = tid; i < sort_len; i += kThreads) {
        const int j = i ^ stride;
        if (j > i) {
          const bool forward = (i & size) == 0;
          const bool in_order = before(cand_key[i], cand_id[i], cand_key[j], cand_id[j]);
          if (in_order != forward) {
            const uint32_t tk = cand_key[i];
            cand_key[i] = cand_key[j];
            cand_key[j] = tk;
            const int32_t ti = cand_id[i];
            cand_id[i] = cand_id[j];
            cand_id[j] = ti;
          }
        }
      }
      __syncthreads();
    }
  }
  for (int i = tid; i < k; i += kThreads) {
    out_ids[size_t(r) * k + i] = cand_id[i];
    out_values[size_t(r) * k + i] = row[cand_id[i]];
  }

  // 4. The normaliser over the whole row; the largest non-NaN value is the first candidate.
  const float mx = cand_key[0] == 0u ? -INFINITY : row[cand_id[0]];
  const float t = temperatures[r];
  float sum = 0.0f;
  if (mx != -INFINITY)
    for (int i = tid; i < vocab; i += kThreads) {
      const float x = row[i];
      if (x == x) sum += expf((x - mx) / t);
    }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) warp_sum[warp] = sum;
  __syncthreads();
  if (tid == 0) {
    float s = 0.0f;
    for (int w = 0; w < kWarps; ++w) s += warp_sum[w];
    out_max[r] = mx;
    out_sum[r] = s;
  }
}

}  // namespace

void launch_top_candidates(const float* logits, int vocab, const int32_t* rows, const float* temperatures, int num_rows,
                           int k, int32_t* out_ids, float* out_values, float* out_max, float* out_sum,
                           cudaStream_t stream) {
  if (num_rows == 0) return;
  int sort_len = 1;
  while (sort_len < k) sort_len <<= 1;
  top_candidates_kernel<<<num_rows, kThreads, 0, stream>>>(logits, vocab, rows, temperatures, k, sort_len, out_ids,
                                                           out_values, out_max, out_sum);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
