// Decode attention: one block per (sequence, KV head, context split) serving all query heads of
// that KV head. Each key's K and V rows are read by D/V lanes as 16-byte chunks of V values (a half
// or a quarter warp per key), several keys per lane in flight, straight from the cache with no
// shared-memory staging. Each lane group keeps its own online softmax over the keys it saw; the
// states are merged by shuffles within the warp and through shared memory across warps. With
// several splits each block writes a partial (max, sum, acc) and the last one to finish merges.
// Under programmatic dependent launch, the first keys' K and V (all but this step's token) load
// before the wait for the previous kernel (MHA).
// A dense row gives a lane V = 8 values per 16-byte load, and so does a quantized row by default
// (backend/kv_format.h: 8 or 4 of its 16 bytes and the row's parameter word; its codes are widened where
// a dense row's values are, and the row's scale and zero go to the sums, kv_lane_values). With
// PagedAttentionParams::decode_wide_lanes (CudaOptions::kv_decode_wide_lanes), one
// query head per KV head and head_dim 128, a lane takes a whole 16 bytes of a quantized row instead
// (V = 16 for int8 / fp8, 32 for int4): each load instruction then moves as many bytes as on a dense
// cache, where a narrow lane spends four loads (K, V and their parameter words) on 8 or 4 bytes of
// each, and a key's shuffles and softmax are shared by fewer lanes. It costs registers (ptxas, sm_90a:
// 128 for int8 / fp8 and 168 for int4, against 64-72), so fewer warps are resident. Grouped heads keep
// V = 8: their query rows, V values per head, would not fit the registers.
#include <algorithm>
#include <cfloat>

#include "backend/cuda/attention/attention_route.h"
#include "backend/cuda/attention/decode_merge.cuh"
#include "backend/cuda/attention/kv_quant.cuh"
#include "backend/cuda/attention/paged_decode.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"

namespace turbine::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kUnroll = 4;  // keys per lane per step, loaded together
constexpr int kMaxGroup = kDecodeMaxGroup;
constexpr float kLog2e = 1.4426950408889634f;

// Values of a row per lane (the header says when a lane takes more than 8).
__host__ __device__ constexpr int values_per_lane(KvFormat f, bool wide) {
  return !wide || f == KvFormat::Dense ? 8 : f == KvFormat::Int4 ? 32 : 16;
}

// Whether a launch takes the wide lanes: asked for, a quantized cache, one query head per KV head, D 128.
bool wide_lanes(const PagedAttentionParams& p) {
  return p.decode_wide_lanes && p.kv_format != KvFormat::Dense && p.num_heads == p.num_kv_heads && p.head_dim == 128;
}

// Keys one block covers per step: D/V lanes per key, kUnroll keys per lane, kWarps warps.
int block_keys(const PagedAttentionParams& p) {
  return kWarps * kUnroll * (32 / (p.head_dim / values_per_lane(p.kv_format, wide_lanes(p))));
}

// This lane's V values of a K or V row as fp32: a dense chunk widened, or a quantized row's codes
// before its scale and zero (kv_codes8), 8 at a time (a 32-bit word holds 8 int4 codes, two words 8
// int8 / fp8). The kernel applies a quantized row's scale and zero to its sums, not to each value:
// q . k = scale (q . codes) + zero (sum of q), and p v adds (p scale) codes and, once a row, p zero.
template <typename T, KvFormat F, int V>
__device__ __forceinline__ void kv_lane_values(const uint4& raw, float* out) {
  if constexpr (F == KvFormat::Dense) {
    unpack8<T>(raw, out);
  } else {
    constexpr int kWords = F == KvFormat::Int4 ? 1 : 2;
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int g = 0; g < V / 8; ++g)
      kv_codes8<F>(make_uint4(w[g * kWords], kWords == 2 ? w[g * kWords + 1] : 0u, 0u, 0u), out + 8 * g);
  }
}

template <typename T, int D, int MaxGroup, KvFormat F, bool Wide = false>
__global__ void __launch_bounds__(kWarps * 32)
    paged_decode_kernel(PagedAttentionParams p, int splits, int split_len, float* part_acc, float* part_ml,
                        unsigned* counters) {
  static_assert(!Wide || (MaxGroup == 1 && F != KvFormat::Dense),
                "wide lanes: a quantized cache, one head per KV head");
  constexpr int kV = values_per_lane(F, Wide);
  constexpr int kLanesPerKey = D / kV, kKeysPerStep = 32 / kLanesPerKey;
  constexpr int kWarpKeys = kKeysPerStep * kUnroll;
  constexpr bool kQuantized = F != KvFormat::Dense, kZero = kQuantized && F != KvFormat::Fp8;
  __shared__ float wm[kWarps][MaxGroup], wl[kWarps][MaxGroup];
  __shared__ float wacc[kWarps][MaxGroup][D];
  pdl_launch_dependents();
  // Blocks walk the batch's decode list, so a mixed step's prefill sequences are skipped. The index
  // arrays were copied before the step's first kernel, so they are read before pdl_wait().
  const int seq = p.decode_seqs[blockIdx.x], kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int chunk = lane % kLanesPerKey, slot = lane / kLanesPerKey;
  const int group = MaxGroup == 1 ? 1 : p.num_heads / p.num_kv_heads;
  const int tok = p.query_start[seq];
  const int ctx = p.context_lens[seq], qpos = ctx - 1;
  int key_begin = p.sliding_window > 0 ? max(0, qpos - p.sliding_window + 1) : 0;
  key_begin = max(key_begin, split * split_len);
  const int key_end = min(ctx, (split + 1) * split_len);
  const size_t head0 = size_t(tok) * p.num_heads + size_t(kvh) * group;  // first query row of this block

  const int* table = p.block_tables + size_t(seq) * p.max_blocks;
  // Raw K and V of this lane's keys: 16 bytes of a row, or 8 / 4 bytes of a quantized row without the wide
  // lanes (the unused words stay 0); a quantized row's parameter word beside them.
  uint4 kraw[kUnroll], vraw[kUnroll];
  uint32_t kpar[kUnroll], vpar[kUnroll];
  bool valid[kUnroll];
  // `fresh`: the row of this step's token, read from L2 (load8_quantized_stream says why).
  auto load_key = [&](int u, int key, bool fresh) {
    const int blk = table[key / p.block_len], off = key % p.block_len;
    if constexpr (F == KvFormat::Dense) {
      const size_t head_stride = size_t(p.block_len) * D;
      const T* kp = static_cast<const T*>(p.cache_layer) + (size_t(blk) * 2 * p.num_kv_heads + kvh) * head_stride +
                    size_t(off) * D + chunk * 8;
      const T* vp = kp + size_t(p.num_kv_heads) * head_stride;
      kraw[u] = fresh ? __ldcg(reinterpret_cast<const uint4*>(kp)) : load_stream(kp);
      vraw[u] = fresh ? __ldcg(reinterpret_cast<const uint4*>(vp)) : load_stream(vp);
    } else {
      constexpr int kElementBytes = F == KvFormat::Int4 ? D / 2 : D, kParamBytes = F == KvFormat::Fp8 ? 2 : 4;
      const uint8_t* block = static_cast<const uint8_t*>(p.cache_layer) + size_t(blk) * p.kv_block_bytes;
      // Rows [k=0|v=1][kv_head][block_len] (backend/kv_format.h): V's row is Hkv * block_len after K's.
      const size_t krow = size_t(kvh) * p.block_len + off, vrow = krow + size_t(p.num_kv_heads) * p.block_len;
      if constexpr (kV == 8) {
        kraw[u] = load8_quantized_stream<F>(block + krow * kElementBytes, chunk * 8, fresh);
        vraw[u] = load8_quantized_stream<F>(block + vrow * kElementBytes, chunk * 8, fresh);
      } else {  // 16 bytes: 16 int8 / fp8 or 32 int4 values
        const uint4* kp = reinterpret_cast<const uint4*>(block + krow * kElementBytes) + chunk;
        const uint4* vp = reinterpret_cast<const uint4*>(block + vrow * kElementBytes) + chunk;
        kraw[u] = fresh ? __ldcg(kp) : load_stream(kp);
        vraw[u] = fresh ? __ldcg(vp) : load_stream(vp);
      }
      kpar[u] = load_kv_param_word_stream<F>(block + p.kv_param_offset + krow * kParamBytes, fresh);
      vpar[u] = load_kv_param_word_stream<F>(block + p.kv_param_offset + vrow * kParamBytes, fresh);
    }
  };
  // K and V of the keys base + u * kKeysPerStep + slot. Only the key of this step's token (qpos) is
  // written by the previous kernel; with `skip_new` it is left for fetch_new() after pdl_wait().
  // Keys past the end keep zero bytes and parameters, which read as 0 in every format.
  auto fetch = [&](int base, bool skip_new) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int key = base + u * kKeysPerStep + slot;
      valid[u] = key < key_end;
      kraw[u] = vraw[u] = make_uint4(0, 0, 0, 0);
      kpar[u] = vpar[u] = 0;
      if (valid[u] && !(skip_new && key == qpos)) load_key(u, key, key == qpos);
    }
  };
  auto fetch_new = [&](int base) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int key = base + u * kKeysPerStep + slot;
      if (key == qpos && key < key_end) load_key(u, key, true);
    }
  };
  // Earlier tokens' K and V are not written in this step: the first batch of them loads while the
  // previous kernel finishes. Not with grouped heads, whose 8 query rows per lane already fill the
  // registers (the early loads would spill).
  constexpr bool kEarlyFetch = MaxGroup == 1;
  const int first_base = key_begin + warp * kWarpKeys;
  if (kEarlyFetch && first_base < key_end) fetch(first_base, true);
  pdl_wait();  // q and the cache slot of this step's token come from the previous kernel
  if (kEarlyFetch && first_base < key_end) fetch_new(first_base);

  // This lane's V dims of each query head, pre-scaled so scores are in log2 units.
  float q[MaxGroup][kV];
  const float qscale = p.scale * kLog2e;
#pragma unroll
  for (int h = 0; h < MaxGroup; ++h) {
    if (h < group) {
#pragma unroll
      for (int g = 0; g < kV / 8; ++g)
        unpack8<T>(*reinterpret_cast<const uint4*>(static_cast<const T*>(p.q) + (head0 + h) * D + chunk * kV + 8 * g),
                   q[h] + 8 * g);
#pragma unroll
      for (int e = 0; e < kV; ++e) q[h][e] *= qscale;
    } else {
#pragma unroll
      for (int e = 0; e < kV; ++e) q[h][e] = 0.0f;
    }
  }
  // qsum: the sum of this lane's q values (a row's zero times it is the zero's part of q . k). zacc:
  // the sum of p zero over the V rows seen, which every value of acc lacks until the loop ends.
  float m[MaxGroup], l[MaxGroup], acc[MaxGroup][kV], qsum[MaxGroup], zacc[MaxGroup];
#pragma unroll
  for (int h = 0; h < MaxGroup; ++h) {
    m[h] = -FLT_MAX;
    l[h] = 0.0f;
    zacc[h] = 0.0f;
    qsum[h] = 0.0f;
#pragma unroll
    for (int e = 0; e < kV; ++e) acc[h][e] = 0.0f, qsum[h] += q[h][e];
  }

  for (int base = first_base; base < key_end; base += kWarps * kWarpKeys) {  // warp-uniform
    if (!kEarlyFetch || base != first_base) fetch(base, false);
    float s[kUnroll][MaxGroup];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float kf[kV];
      kv_lane_values<T, F, kV>(kraw[u], kf);
      const float2 sz = kQuantized ? kv_params_of(kpar[u]) : make_float2(1.0f, 0.0f);
#pragma unroll
      for (int h = 0; h < MaxGroup; ++h) {
        float dot = 0.0f;
#pragma unroll
        for (int e = 0; e < kV; ++e) dot += q[h][e] * kf[e];
        if constexpr (kZero)
          dot = sz.x * dot + sz.y * qsum[h];
        else if constexpr (kQuantized)
          dot *= sz.x;
        s[u][h] = dot;
      }
    }
    // Sum the partial dots over the lanes sharing a key.
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int h = 0; h < MaxGroup; ++h) {
        if (h >= group) break;
#pragma unroll
        for (int o = kLanesPerKey / 2; o > 0; o >>= 1) s[u][h] += __shfl_xor_sync(0xffffffffu, s[u][h], o);
      }
    }
    // Online softmax: each head's new maximum rescales its state, and s becomes the probabilities.
#pragma unroll
    for (int h = 0; h < MaxGroup; ++h) {
      if (h >= group) break;
      float mx = m[h];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (valid[u]) mx = fmaxf(mx, s[u][h]);
      const float correction = exp2f(m[h] - mx);
      m[h] = mx;
      l[h] *= correction;
      zacc[h] *= correction;
#pragma unroll
      for (int e = 0; e < kV; ++e) acc[h][e] *= correction;
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        s[u][h] = valid[u] ? exp2f(s[u][h] - mx) : 0.0f;
        l[h] += s[u][h];
      }
    }
    // Each key's V widened once for all heads (one row's values live at a time).
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float vf[kV];
      kv_lane_values<T, F, kV>(vraw[u], vf);
      const float2 sz = kQuantized ? kv_params_of(vpar[u]) : make_float2(1.0f, 0.0f);
#pragma unroll
      for (int h = 0; h < MaxGroup; ++h) {
        if (h >= group) break;
        const float ps = kQuantized ? s[u][h] * sz.x : s[u][h];
#pragma unroll
        for (int e = 0; e < kV; ++e) acc[h][e] += ps * vf[e];
        if constexpr (kZero) zacc[h] += s[u][h] * sz.y;
      }
    }
  }
  if constexpr (kZero) {
#pragma unroll
    for (int h = 0; h < MaxGroup; ++h)
#pragma unroll
      for (int e = 0; e < kV; ++e) acc[h][e] += zacc[h];
  }

  // Merge the lane groups of the warp (lanes with the same chunk), then the warps.
#pragma unroll
  for (int h = 0; h < MaxGroup; ++h) {
    if (h >= group) break;
#pragma unroll
    for (int o = kLanesPerKey; o < 32; o <<= 1) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[h], o), lo = __shfl_xor_sync(0xffffffffu, l[h], o);
      const float mx = fmaxf(m[h], mo), f = exp2f(m[h] - mx), fo = exp2f(mo - mx);
      l[h] = l[h] * f + lo * fo;
      m[h] = mx;
#pragma unroll
      for (int e = 0; e < kV; ++e) acc[h][e] = acc[h][e] * f + __shfl_xor_sync(0xffffffffu, acc[h][e], o) * fo;
    }
    if (slot == 0) {
#pragma unroll
      for (int e = 0; e < kV; ++e) wacc[warp][h][chunk * kV + e] = acc[h][e];
      if (lane == 0) {
        wm[warp][h] = l[h] > 0.0f ? m[h] : -FLT_MAX;
        wl[warp][h] = l[h];
      }
    }
  }
  merge_decode_states<T, D, MaxGroup, kWarps>(p, splits, split, head0, group, wm, wl, wacc, part_acc, part_ml,
                                                counters);
}

int split_len_for(const PagedAttentionParams& p, int splits) {
  const int unit = block_keys(p);
  const int per = (p.max_context + splits - 1) / std::max(splits, 1);
  return std::max(unit, (per + unit - 1) / unit * unit);
}

template <typename T, int D, KvFormat F>
void launch_typed(const PagedAttentionParams& p, int splits, int split_len, float* workspace, unsigned* counters,
                  const KernelLaunch& launch) {
  float* part_acc = workspace;
  float* part_ml = workspace ? workspace + size_t(splits) * p.num_tokens * p.num_heads * D : nullptr;
  const dim3 grid(p.num_decode, p.num_kv_heads, splits);
  if constexpr (F != KvFormat::Dense && D == 128) {
    if (wide_lanes(p)) {
      launch_pdl(paged_decode_kernel<T, D, 1, F, true>, grid, kWarps * 32, 0, launch, p, splits, split_len, part_acc,
                 part_ml, counters);
      return;
    }
  }
  if (p.num_heads == p.num_kv_heads)
    launch_pdl(paged_decode_kernel<T, D, 1, F>, grid, kWarps * 32, 0, launch, p, splits, split_len, part_acc, part_ml,
               counters);
  else
    launch_pdl(paged_decode_kernel<T, D, kMaxGroup, F>, grid, kWarps * 32, 0, launch, p, splits, split_len, part_acc,
               part_ml, counters);
}

template <typename T, KvFormat F>
void launch_format(const PagedAttentionParams& p, int splits, int split_len, float* workspace, unsigned* counters,
                   const KernelLaunch& launch) {
  if (p.head_dim == 64)
    launch_typed<T, 64, F>(p, splits, split_len, workspace, counters, launch);
  else
    launch_typed<T, 128, F>(p, splits, split_len, workspace, counters, launch);
}

}  // namespace

bool paged_decode_serves(const PagedAttentionParams& p) {
  return decode_kernel_fits(p.head_dim, p.num_heads, p.num_kv_heads) && !p.force_general;
}

int paged_decode_splits(const PagedAttentionParams& p, int sm_count) {
  const long blocks = long(p.num_decode) * p.num_kv_heads;
  if (blocks >= 2L * sm_count) return 1;  // the backend sizes its split counters on this bound
  // Aim at four blocks per SM, but give every split at least one full step of the block's warps.
  const long by_work = (4L * sm_count + blocks - 1) / blocks;
  const int unit = block_keys(p);
  const int by_len = (p.max_context + unit - 1) / unit;
  return int(std::max(1L, std::min({by_work, long(by_len), long(kMaxSplits)})));
}

size_t paged_decode_workspace_bytes(const PagedAttentionParams& p, int splits) {
  if (splits <= 1) return 0;
  return sizeof(float) * size_t(splits) * p.num_tokens * p.num_heads * (p.head_dim + 2);
}

size_t paged_decode_counter_count(const PagedAttentionParams& p, int splits) {
  return splits > 1 ? size_t(p.num_decode) * p.num_kv_heads : 0;
}

void launch_paged_decode(const PagedAttentionParams& p, int splits, float* workspace, unsigned* counters,
                         const KernelLaunch& launch) {
  if (p.num_decode == 0) return;
  if (!paged_decode_serves(p) || p.decode_seqs == nullptr)
    fail("cuda decode attention: batch not served by the decode kernel (or no decode list)");
  if (p.kv_format != KvFormat::Dense && (p.kv_block_bytes == 0 || p.kv_param_offset == 0))
    fail("cuda decode attention: a {} cache needs its block layout", kv_format_name(p.kv_format));
  splits = std::clamp(splits, 1, kMaxSplits);
  const int split_len = split_len_for(p, splits);
  splits = std::max(1, (p.max_context + split_len - 1) / split_len);  // rounding may leave fewer parts
  if (splits > 1 && (workspace == nullptr || counters == nullptr))
    fail("cuda decode attention: split-K needs a workspace and zeroed counters");
  TURBINE_DISPATCH_HALF(p.dtype, {
    switch (p.kv_format) {
      case KvFormat::Dense: launch_format<T, KvFormat::Dense>(p, splits, split_len, workspace, counters, launch); break;
      case KvFormat::Int8: launch_format<T, KvFormat::Int8>(p, splits, split_len, workspace, counters, launch); break;
      case KvFormat::Int4: launch_format<T, KvFormat::Int4>(p, splits, split_len, workspace, counters, launch); break;
      case KvFormat::Fp8: launch_format<T, KvFormat::Fp8>(p, splits, split_len, workspace, counters, launch); break;
    }
  });
}

}  // namespace turbine::cuda
