// The one-token GEMV's fused ops (Int4GemvPreNorm, Int4GemvEpilogue): the pre-norm's prologue, which
// each block runs to compute its own normalised input, the paired epilogues (SwiGLU for gate_up; RoPE
// and the cache write for qkv), and the host's check of what the fused instance takes. A part of
// int4_gemv.cu, included there inside its anonymous namespace after the block shape (kThreads,
// kWarps) that these functions share with the kernel; kept apart so that the kernel's file holds the
// products and their ring.
#pragma once

// The norm weight's chunks a thread rescales in the pre-norm's prologue (c = tid + i * kThreads): a
// weight, so loaded before the PDL wait, which takes a round trip to memory off the prologue.
constexpr int kGammaChunks = kInt4GemvPreNormMaxK / 8 / kThreads;
struct GammaChunks {
  uint4 v[kGammaChunks];
};
__device__ __forceinline__ GammaChunks load_gamma(const Int4GemvPreNorm& pre, int k) {
  GammaChunks g;
  const uint4* gamma = static_cast<const uint4*>(pre.weight);
#pragma unroll
  for (int i = 0; i < kGammaChunks; ++i) {
    const int c = int(threadIdx.x) + i * kThreads;
    g.v[i] = c < k / 8 ? __ldg(gamma + c) : make_uint4(0, 0, 0, 0);
  }
  return g;
}

// The pre-norm's prologue (one token): x_s[0 .. kp / 8) = the normalised row in 16-byte chunks, zero
// from K on; block 0 writes the updated residual. `red` is kWarps floats of scratch.
template <typename T>
__device__ __forceinline__ void pre_norm_row(const Int4GemmArgs& a, const Int4GemvPreNorm& pre, int k, int kp,
                                             uint4* x_s, float* red, const GammaChunks& gam) {
  const int tid = threadIdx.x, chunks = k / 8;
  const uint4* x = static_cast<const uint4*>(a.x);
  const uint4* delta = static_cast<const uint4*>(pre.delta);
  uint4* residual = blockIdx.x == 0 ? static_cast<uint4*>(pre.residual_out) : nullptr;
  float sq = 0.0f;
  for (int c = tid; c < kp / 8; c += kThreads) {
    uint4 v = make_uint4(0, 0, 0, 0);
    if (c < chunks) {
      float f[8];
      v = load_after_wait(x + c);
      if (delta) {
        float d[8];
        unpack8<T>(v, f);
        unpack8<T>(load_after_wait(delta + c), d);
#pragma unroll
        for (int e = 0; e < 8; ++e) f[e] += d[e];
        v = pack8<T>(f);  // the residual stream is kept in T
        if (residual) residual[c] = v;
      }
      unpack8<T>(v, f);
#pragma unroll
      for (int e = 0; e < 8; ++e) sq += f[e] * f[e];
    }
    x_s[c] = v;
  }
  sq = warp_sum(sq);
  if ((tid & 31) == 0) red[tid >> 5] = sq;
  __syncthreads();
  sq = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) sq += red[w];
  const float inv = rsqrtf(sq / float(k) + pre.eps);
#pragma unroll
  for (int i = 0; i < kGammaChunks; ++i) {  // each thread rescales the chunks it wrote
    const int c = tid + i * kThreads;
    if (c >= chunks) break;
    float f[8], g[8];
    unpack8<T>(x_s[c], f);
    unpack8<T>(gam.v[i], g);
#pragma unroll
    for (int e = 0; e < 8; ++e) f[e] = f[e] * inv * g[e];
    x_s[c] = pack8<T>(f);
  }
  __syncthreads();
}

// What the one-token instance does besides the products (the host's Int4GemvPreNorm, Int4GemvEpilogue
// and QkvRopeParams). The paired epilogues take a strip's outputs together with those of its partner
// strip: strips go in units of two, a unit's two strips run one after the other in one block, and the
// second's epilogue combines each row with the same row of the first, held in a register by the
// thread that wrote it. Unit u < paired_units pairs strip a = (u / span) 2 span + u % span with
// a + span (gate row r with up row r + I: span I / 16; a q or k head's dim d with d + D / 2: span
// D / 32); the rest pair strips 2u and 2u + 1 (v heads, each row stored as it is).
struct GemvFusion {
  Int4GemvPreNorm pre;
  Int4GemvEpilogue epilogue = Int4GemvEpilogue::Store;
  int span = 1, paired_units = 0;
  QkvRopeParams rope;
};

// The paired epilogue of one token's output row_a, of a unit's first strip (x), and row_b, the same
// row of its second (y), both rounded to T as the outputs they stand for; `rotate`: the rows are a
// rotation pair of a q or k head.
template <typename T>
__device__ __forceinline__ void paired_epilogue(const Int4GemmArgs& a, const GemvFusion& f, bool rotate, int row_a,
                                                int row_b, float x, float y) {
  if (f.epilogue == Int4GemvEpilogue::SiluMul) {  // as silu_mul: gate row_a, up row_b
    static_cast<T*>(a.out)[row_a] = from_float<T>(x / (1.0f + __expf(-x)) * y);
    return;
  }
  const QkvRopeParams& p = f.rope;
  const int D = p.head_dim, head_a = row_a / D, head_b = row_b / D;
  T* dst_a = qkv_head_destination<T>(p, head_a, 0);
  T* dst_b = qkv_head_destination<T>(p, head_b, 0);
  if (rotate) rope_rotate(p, 0, row_a - head_a * D, x, y);
  if (dst_a) dst_a[row_a - head_a * D] = from_float<T>(x);
  if (dst_b) dst_b[row_b - head_b * D] = from_float<T>(y);
}

// The fused instance's arguments, or false where it does not take them.
bool make_fusion(const Int4GemmArgs& a, const Int4GemvPreNorm& pre, Int4GemvEpilogue epilogue,
                 const QkvRopeParams* rope, GemvFusion& f) {
  const Int4Layout& l = a.layout;
  if (a.tokens != 1 || l.group_size < 128 || l.k > kInt4GemvPreNormMaxK || a.out_dtype != a.dtype || !pre.weight ||
      (pre.delta && (!pre.residual_out || pre.residual_out == a.x)) ||
      !aligned16({pre.delta, pre.weight, pre.residual_out}))
    return false;
  f.pre = pre;
  f.epilogue = epilogue;
  if (epilogue == Int4GemvEpilogue::SiluMul) {
    if (l.n % 32 != 0) return false;
    f.span = f.paired_units = int(l.n / 32);
  } else if (epilogue == Int4GemvEpilogue::RopeStore) {
    if (!rope || rope->q_norm || rope->k_norm || rope->kv_format != KvFormat::Dense || rope->head_dim % 32 != 0 ||
        rope->rotary_dim != rope->head_dim || l.n != int64_t(rope->num_heads + 2 * rope->num_kv_heads) * rope->head_dim)
      return false;
    f.rope = *rope;
    f.span = rope->head_dim / 32;
    f.paired_units = (rope->num_heads + rope->num_kv_heads) * f.span;
  }
  return true;
}
