// Paged attention, flash style: each block owns up to kRows (token, head) rows that share one KV
// head (so GQA reads each K/V tile once for all its query heads), streams 32-key tiles of the
// paged cache through shared memory and keeps an online softmax per row. Lanes own keys for the
// scores and head dims for the weighted sum of values.
#include <algorithm>
#include <cfloat>
#include <type_traits>

#include "backend/cuda/attention/flash_prefill.h"
#include "backend/cuda/attention/kv_quant.cuh"
#include "backend/cuda/attention/paged_attention.h"
#include "backend/cuda/attention/paged_decode.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"

namespace turbine::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kRows = kWarps * kRowsPerWarp;
constexpr int kTile = 32;  // keys per tile: one per lane
constexpr float kLog2e = 1.4426950408889634f;

struct Split {
  int splits, split_len, row_blocks;
};

size_t smem_bytes(int max_d) { return sizeof(float) * (kTile * (max_d + 1) + kTile * max_d + kRows * max_d); }

// F: the cache's format; a quantized one (head_dim 64 / 128 only) is dequantized as tiles are stashed.
template <typename T, int MaxD, KvFormat F>
__global__ void __launch_bounds__(kWarps * 32)
    paged_attention_kernel(PagedAttentionParams p, Split sp, float* part_acc, float* part_ml) {
  constexpr int kDims = MaxD / 32;  // head dims per lane
  extern __shared__ float smem[];
  const int D = MaxD == 256 ? p.head_dim : MaxD;  // 64 and 128 are exact; 256 is the generic bound
  float* ks = smem;                               // [kTile][D + 1]: padded so lanes reading a column differ in bank
  float* vs = ks + kTile * (D + 1);               // [kTile][D]
  float* qs = vs + kTile * D;                     // [kRows][D], pre-scaled by scale * log2(e)

  const int seq = blockIdx.x / sp.row_blocks, rb = blockIdx.x % sp.row_blocks;
  const int kvh = blockIdx.y, split = blockIdx.z;
  const int q0 = p.query_start[seq], nq = p.query_start[seq + 1] - q0;
  if (p.skip_decode && nq == 1) return;  // the decode kernel's row (plan_attention_work's decode_seqs)
  const int group = p.num_heads / p.num_kv_heads;
  const int row_begin = rb * kRows;
  const int row_count = min(kRows, nq * group - row_begin);
  if (row_count <= 0) return;
  const int ctx = p.context_lens[seq];
  const int first_pos = ctx - nq;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  // Keys this block needs, clipped to its split.
  const int last_pos = first_pos + (row_begin + row_count - 1) / group;
  int key_begin = 0;
  if (p.sliding_window > 0) key_begin = max(0, first_pos + row_begin / group - p.sliding_window + 1);
  key_begin = max(key_begin, split * sp.split_len);
  const int key_end = min(last_pos + 1, (split + 1) * sp.split_len);

  for (int i = threadIdx.x; i < kRows * D; i += blockDim.x) {
    const int r = i / D, d = i % D;
    float v = 0.0f;
    if (r < row_count) {
      const int row = row_begin + r, tok = q0 + row / group, h = kvh * group + row % group;
      v = to_float(static_cast<const T*>(p.q)[(size_t(tok) * p.num_heads + h) * D + d]) * p.scale * kLog2e;
    }
    qs[i] = v;
  }

  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kDims];
  int qpos[kRowsPerWarp];
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) {
    m[k] = -FLT_MAX;
    l[k] = 0.0f;
    const int r = warp + k * kWarps;
    qpos[k] = r < row_count ? first_pos + (row_begin + r) / group : -1;
#pragma unroll
    for (int j = 0; j < kDims; ++j) acc[k][j] = 0.0f;
  }

  const T* cache = static_cast<const T*>(p.cache_layer);
  const int* table = p.block_tables + size_t(seq) * p.max_blocks;
  const size_t head_stride = size_t(p.block_len) * D;
  const int chunks = D / 8;  // 16-byte loads of 8 elements
  // The next tile's K/V wait in registers while the current tile is computed on, so global
  // latency overlaps the arithmetic.
  constexpr int kLoads = kTile * (MaxD / 8) / (kWarps * 32);
  uint4 kreg[kLoads], vreg[kLoads];
  float2 kpar[kLoads], vpar[kLoads];  // quantized: each row's (scale, zero)
  auto fetch = [&](int tile) {
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int i = threadIdx.x + u * kWarps * 32;
      const int j = i / chunks, d0 = (i % chunks) * 8, pos = tile + j;
      if constexpr (F != KvFormat::Dense) {
        kreg[u] = vreg[u] = make_uint4(0, 0, 0, 0);
        kpar[u] = vpar[u] = make_float2(0.0f, 0.0f);
        if (i < kTile * chunks && pos < key_end) {
          const int blk = table[pos / p.block_len], off = pos % p.block_len;
          const uint8_t* base = static_cast<const uint8_t*>(p.cache_layer) + size_t(blk) * p.kv_block_bytes;
          const size_t krow = size_t(kvh) * p.block_len + off, vrow = krow + size_t(p.num_kv_heads) * p.block_len;
          kreg[u] = load8_quantized<F>(base + krow * kv_element_bytes<F>(D), d0);
          vreg[u] = load8_quantized<F>(base + vrow * kv_element_bytes<F>(D), d0);
          kpar[u] = load_kv_params<F>(base + p.kv_param_offset + krow * kv_param_bytes<F>());
          vpar[u] = load_kv_params<F>(base + p.kv_param_offset + vrow * kv_param_bytes<F>());
        }
        continue;
      }
      if (i < kTile * chunks && pos < key_end) {
        const int blk = table[pos / p.block_len], off = pos % p.block_len;
        const T* kp = cache + (size_t(blk) * 2 * p.num_kv_heads + kvh) * head_stride + size_t(off) * D + d0;
        kreg[u] = *reinterpret_cast<const uint4*>(kp);
        vreg[u] = *reinterpret_cast<const uint4*>(kp + size_t(p.num_kv_heads) * head_stride);
      } else {
        kreg[u] = vreg[u] = make_uint4(0, 0, 0, 0);
      }
    }
  };
  auto stash = [&]() {
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int i = threadIdx.x + u * kWarps * 32;
      if (i >= kTile * chunks) continue;
      const int j = i / chunks, d0 = (i % chunks) * 8;
      if constexpr (F != KvFormat::Dense) {
        float kf[8], vf[8];
        dequant8<F>(kreg[u], kpar[u].x, kpar[u].y, kf);
        dequant8<F>(vreg[u], vpar[u].x, vpar[u].y, vf);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          ks[j * (D + 1) + d0 + e] = kf[e];
          vs[j * D + d0 + e] = vf[e];
        }
        continue;
      }
      const T* kh = reinterpret_cast<const T*>(&kreg[u]);
      const T* vh = reinterpret_cast<const T*>(&vreg[u]);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        ks[j * (D + 1) + d0 + e] = to_float(kh[e]);
        vs[j * D + d0 + e] = to_float(vh[e]);
      }
    }
  };
  if (key_begin < key_end) fetch(key_begin);
  for (int tile = key_begin; tile < key_end; tile += kTile) {
    __syncthreads();  // the previous tile is no longer read
    stash();
    __syncthreads();
    if (tile + kTile < key_end) fetch(tile + kTile);
    const int key = tile + lane;
#pragma unroll
    for (int k = 0; k < kRowsPerWarp; ++k) {
      if (qpos[k] < 0) continue;  // warp-uniform
      const float* q = qs + (warp + k * kWarps) * D;
      float s = 0.0f;
      for (int d = 0; d < D; ++d) s += q[d] * ks[lane * (D + 1) + d];
      const bool valid = key < key_end && key <= qpos[k] && (p.sliding_window <= 0 || key > qpos[k] - p.sliding_window);
      s = valid ? s : -FLT_MAX;
      const float m_new = fmaxf(m[k], warp_max(s));
      if (m_new == -FLT_MAX) continue;  // nothing visible yet for this row
      const float pr = valid ? exp2f(s - m_new) : 0.0f;
      const float correction = exp2f(m[k] - m_new);
      l[k] = l[k] * correction + warp_sum(pr);
      m[k] = m_new;
#pragma unroll
      for (int j = 0; j < kDims; ++j) acc[k][j] *= correction;
      for (int j = 0; j < kTile; ++j) {
        const float pj = __shfl_sync(0xffffffffu, pr, j);
#pragma unroll
        for (int e = 0; e < kDims; ++e) {
          const int d = lane + e * 32;
          if (MaxD != 256 || d < D) acc[k][e] += pj * vs[j * D + d];
        }
      }
    }
  }

#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) {
    if (qpos[k] < 0) continue;
    const int row = row_begin + warp + k * kWarps;
    const int tok = q0 + row / group, h = kvh * group + row % group;
    const size_t row_index = size_t(tok) * p.num_heads + h;
    if (sp.splits == 1) {
      const float inv = l[k] > 0.0f ? 1.0f / l[k] : 0.0f;
      T* o = static_cast<T*>(p.out) + row_index * D;
#pragma unroll
      for (int e = 0; e < kDims; ++e) {
        const int d = lane + e * 32;
        if (MaxD != 256 || d < D) o[d] = from_float<T>(acc[k][e] * inv);
      }
    } else {
      const size_t part = size_t(split) * p.num_tokens * p.num_heads + row_index;
      float* a = part_acc + part * D;
#pragma unroll
      for (int e = 0; e < kDims; ++e) {
        const int d = lane + e * 32;
        if (MaxD != 256 || d < D) a[d] = acc[k][e];
      }
      if (lane == 0) {
        part_ml[part * 2] = l[k] > 0.0f ? m[k] : -FLT_MAX;
        part_ml[part * 2 + 1] = l[k];
      }
    }
  }
}

// Whether `token` belongs to a sequence with one new token: query_start is ascending, so the last
// sequence starting at or before it is its own.
__device__ bool decode_token(const PagedAttentionParams& p, int token) {
  int lo = 0, hi = p.num_sequences - 1;  // query_start[lo] <= token throughout
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (p.query_start[mid] <= token)
      lo = mid;
    else
      hi = mid - 1;
  }
  return p.query_start[lo + 1] - p.query_start[lo] == 1;
}

// Merges the split parts of each (token, head) row: softmax-weighted by each part's max and sum.
template <typename T>
__global__ void paged_attention_reduce_kernel(PagedAttentionParams p, int splits, const float* part_acc,
                                              const float* part_ml) {
  const size_t row = blockIdx.x;  // token * Hq + head
  // A skipped decode row has no parts; the decode kernel writes it.
  if (p.skip_decode && decode_token(p, int(row / p.num_heads))) return;
  const size_t stride = size_t(p.num_tokens) * p.num_heads;
  float mx = -FLT_MAX;
  for (int s = 0; s < splits; ++s) mx = fmaxf(mx, part_ml[(s * stride + row) * 2]);
  float total = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float ms = part_ml[(s * stride + row) * 2];
    if (ms != -FLT_MAX) total += part_ml[(s * stride + row) * 2 + 1] * exp2f(ms - mx);
  }
  const float inv = total > 0.0f ? 1.0f / total : 0.0f;
  for (int d = threadIdx.x; d < p.head_dim; d += blockDim.x) {
    float v = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float ms = part_ml[(s * stride + row) * 2];
      if (ms != -FLT_MAX) v += part_acc[(s * stride + row) * p.head_dim + d] * exp2f(ms - mx);
    }
    static_cast<T*>(p.out)[row * p.head_dim + d] = from_float<T>(v * inv);
  }
}

Split split_for(const PagedAttentionParams& p, int splits) {
  const int group = p.num_heads / p.num_kv_heads;
  Split sp;
  sp.row_blocks = (p.max_new_tokens * group + kRows - 1) / kRows;
  const int per = (p.max_context + splits - 1) / splits;
  sp.split_len = std::max(kTile, (per + kTile - 1) / kTile * kTile);
  sp.splits = (p.max_context + sp.split_len - 1) / sp.split_len;
  if (sp.splits < 1) sp.splits = 1;
  return sp;
}

template <typename T, int MaxD, KvFormat F = KvFormat::Dense>
void launch_typed(const PagedAttentionParams& p, const Split& sp, float* workspace, cudaStream_t stream) {
  const int D = MaxD == 256 ? p.head_dim : MaxD;
  const size_t smem = smem_bytes(D);
  auto kernel = paged_attention_kernel<T, MaxD, F>;
  if (smem > 48 * 1024)
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  float* part_acc = workspace;
  float* part_ml = workspace ? workspace + size_t(sp.splits) * p.num_tokens * p.num_heads * p.head_dim : nullptr;
  const dim3 grid(p.num_sequences * sp.row_blocks, p.num_kv_heads, sp.splits);
  kernel<<<grid, kWarps * 32, smem, stream>>>(p, sp, part_acc, part_ml);
  TURBINE_CUDA_LAUNCH_CHECK();
  if (sp.splits > 1) {
    paged_attention_reduce_kernel<T>
        <<<p.num_tokens * p.num_heads, std::min(p.head_dim, 128), 0, stream>>>(p, sp.splits, part_acc, part_ml);
    TURBINE_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace

int paged_attention_splits(const PagedAttentionParams& p, int sm_count) {
  const int group = p.num_heads / p.num_kv_heads;
  const int row_blocks = (p.max_new_tokens * group + kRows - 1) / kRows;
  const long blocks = long(p.num_sequences) * row_blocks * p.num_kv_heads;
  const long want = 2L * sm_count;
  if (blocks >= want || p.max_context <= 2 * kTile) return 1;
  const int by_work = int((want + blocks - 1) / blocks);
  const int by_len = (p.max_context + 2 * kTile - 1) / (2 * kTile);  // at least two tiles per part
  return std::max(1, std::min({by_work, by_len, 64}));
}

size_t paged_attention_workspace_bytes(const PagedAttentionParams& p, int splits) {
  const Split sp = split_for(p, splits);
  if (sp.splits <= 1) return 0;
  return sizeof(float) * size_t(sp.splits) * p.num_tokens * p.num_heads * (p.head_dim + 2);
}

void launch_paged_attention(const PagedAttentionParams& p, int splits, float* workspace, cudaStream_t stream) {
  if (p.num_tokens == 0) return;
  if (p.head_dim % 8 != 0 || p.head_dim > 256)
    fail("cuda attention: head_dim {} unsupported (a multiple of 8, at most 256)", p.head_dim);
  if (p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0)
    fail("cuda attention: {} heads not a multiple of {} kv heads", p.num_heads, p.num_kv_heads);
  const Split sp = split_for(p, splits);
  if (sp.splits > 1 && workspace == nullptr) fail("cuda attention: split-K needs a workspace");
  if (p.kv_format != KvFormat::Dense) {
    if (p.head_dim != 64 && p.head_dim != 128)
      fail("cuda attention: --kv-quant {} needs head_dim 64 or 128, got {}", kv_format_name(p.kv_format), p.head_dim);
    TURBINE_DISPATCH_HALF(p.dtype, {
      auto by_dim = [&](auto format) {
        if (p.head_dim == 64)
          launch_typed<T, 64, decltype(format)::value>(p, sp, workspace, stream);
        else
          launch_typed<T, 128, decltype(format)::value>(p, sp, workspace, stream);
      };
      if (p.kv_format == KvFormat::Int8)
        by_dim(std::integral_constant<KvFormat, KvFormat::Int8>{});
      else if (p.kv_format == KvFormat::Int4)
        by_dim(std::integral_constant<KvFormat, KvFormat::Int4>{});
      else
        by_dim(std::integral_constant<KvFormat, KvFormat::Fp8>{});
    });
    return;
  }
  TURBINE_DISPATCH_HALF(p.dtype, {
    if (p.head_dim == 64)
      launch_typed<T, 64>(p, sp, workspace, stream);
    else if (p.head_dim == 128)
      launch_typed<T, 128>(p, sp, workspace, stream);
    else
      launch_typed<T, 256>(p, sp, workspace, stream);
  });
}

}  // namespace turbine::cuda
