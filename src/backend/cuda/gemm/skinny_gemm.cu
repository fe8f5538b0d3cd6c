// out[T, N] = x[T, K] @ w[N, K]^T for T of 1 or 2: a memory-bound pass over the weights.
// A block owns kRows output rows for all T tokens and splits K over its 256 threads; each thread
// keeps kRows * kUnroll independent 16-byte weight loads in flight (streamed past L1), reads x
// through L1 (it is small and shared by every block), and the per-thread sums meet in one
// shuffle + shared-memory reduction at the end. cuBLASLt's kernels for such thin shapes leave
// bandwidth unused. From 3 tokens on cuBLASLt is faster (H100, the GEMM bench: at 4 tokens this
// kernel reads 1.8-2.4 TB/s against cuBLASLt's 2.0-2.6, at 8 tokens 1.2-1.6), so it stops at 2.
//
// At one token the small ops around a GEMM are latency, not bandwidth: each is a kernel the chain
// waits for. So the kernel can also compute its input from the op before it and finish with the op
// after it, adding nothing to the critical path (H100, 7B shape: batch-1 decode +2.9%, 210.5 -> 216.6
// tok/s):
// - AddRmsNorm: x = rms_norm(residual + delta). The norm's scale is one number per token, so it
//   factors out of the dot product: the sum of squares accumulates beside the dots and scales them
//   at the end. Block 0 writes the updated residual to residual_out (other blocks still read the old).
// - RoPE epilogue (qkv projection): a block's rows are taken in rotation pairs (d, d + rotary/2) of
//   one head, so it rotates them itself and writes q and the cache as qkv_rope_store does.
// The fusion is for one token only: at two, each block would own half as many rows and recompute its
// inputs twice as often per weight byte. SwiGLU keeps its own kernel rather than running inside the
// down projection, where each block would recompute all 11,008 activations.
#include <algorithm>

#include "backend/cuda/attention/qkv_rope_epilogue.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/pdl.cuh"
#include "backend/cuda/gemm/skinny_gemm.h"

namespace turbine::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
// Output rows per block (x is read from L1 once per kRows weight rows) and 16-byte chunks per row per
// thread and step. Chosen per token count with the GEMM bench on an H100 among (rows, chunks) =
// (2, 2), (2, 4), (4, 1), (4, 2), (4, 4), (8, 2): (4, 1) reads the 4096 x 4096 weight at 2.89 TB/s
// against 2.74 for (4, 2) at one token; (2, 2) gains 2-14% per shape at two tokens.
template <int Tokens>
struct Blocking;
template <>
struct Blocking<1> {
  static constexpr int kRows = 4, kUnroll = 1, kMinBlocks = 5;
};
template <>
struct Blocking<2> {
  static constexpr int kRows = 2, kUnroll = 2, kMinBlocks = 4;
};
static_assert(Blocking<1>::kRows % 2 == 0, "rotation pairs stay in one block");

// The weight row computed as the block's i-th output under the RoPE epilogue: within the rotated
// dims of a q or k head, outputs 2f and 2f + 1 are dims f and f + rotary/2; the rest keep their place.
__device__ int rope_pair_row(const QkvRopeParams& p, int i) {
  const int D = p.head_dim, head = i / D, j = i - head * D;
  if (head >= p.num_heads + p.num_kv_heads || j >= p.rotary_dim) return i;
  return head * D + j / 2 + (j & 1) * (p.rotary_dim / 2);
}

// Rotates outputs i, i + 1 (x, y: the values of rows rope_pair_row(i), rope_pair_row(i + 1), in T
// precision) of token t and writes them to q_out or the cache, as qkv_rope_store does.
template <typename T>
__device__ void rope_store_pair(const QkvRopeParams& p, int i, int t, float x, float y) {
  const int D = p.head_dim, head = i / D, j = i - head * D;
  T* dst = qkv_head_destination<T>(p, head, t);
  if (!dst) return;
  int ja = j, jb = j + 1;
  if (head < p.num_heads + p.num_kv_heads && j < p.rotary_dim) {
    rope_rotate(p, t, j / 2, x, y);
    ja = j / 2;
    jb = j / 2 + p.rotary_dim / 2;
  }
  dst[ja] = from_float<T>(x);
  dst[jb] = from_float<T>(y);
}

template <typename T, typename O, int Tokens, SkinnyInput In, bool Rope>
__global__ void __launch_bounds__(kThreads, Blocking<Tokens>::kMinBlocks)
    skinny_gemm_kernel(SkinnyGemmArgs a, QkvRopeParams rp) {
  constexpr int kRows = Blocking<Tokens>::kRows, kUnroll = Blocking<Tokens>::kUnroll;
  constexpr bool kNorm = In == SkinnyInput::AddRmsNorm;
  constexpr int kDots = kRows * Tokens, kSlots = kDots + (kNorm ? Tokens : 0);
  __shared__ float partial[kWarps][kSlots];
  __shared__ float result[kRows][Tokens];  // RoPE epilogue: the block's outputs, rounded to T
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int n = a.n, k = a.k, tokens = a.tokens;
  const int out0 = blockIdx.x * kRows;  // the block's first output (row of `out`, or pair slot under RoPE)
  const int chunks = k / 8;
  float acc[kRows][Tokens], sq[Tokens];
#pragma unroll
  for (int t = 0; t < Tokens; ++t) {
    sq[t] = 0.0f;
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[r][t] = 0.0f;
  }
  const T* w = static_cast<const T*>(a.w);
  const uint4* wr[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int row = Rope ? rope_pair_row(rp, out0 + r) : out0 + r;
    wr[r] = reinterpret_cast<const uint4*>(w + size_t(min(row, n - 1)) * k);
  }
  const uint4* xr = static_cast<const uint4*>(a.x);
  const uint4* dr = static_cast<const uint4*>(a.delta);
  const uint4* gr = static_cast<const uint4*>(a.norm_weight);
  uint4* res_out = static_cast<uint4*>(a.residual_out);

  // This thread's 8 inputs of chunk c, token t, as the GEMM sees them (before the norm's scale).
  auto input = [&](int t, int c, float* xf) {
    if constexpr (In == SkinnyInput::Plain) {
      unpack8<T>(load_after_wait(xr + size_t(t) * chunks + c), xf);
    } else {
      uint4 h = load_after_wait(xr + size_t(t) * chunks + c);
      if (dr) {
        float hf[8], df[8];
        unpack8<T>(h, hf);
        unpack8<T>(load_after_wait(dr + size_t(t) * chunks + c), df);
#pragma unroll
        for (int e = 0; e < 8; ++e) hf[e] += df[e];
        h = pack8<T>(hf);  // the residual stream is kept in T
        if (blockIdx.x == 0) res_out[size_t(t) * chunks + c] = h;
      }
      unpack8<T>(h, xf);
#pragma unroll
      for (int e = 0; e < 8; ++e) sq[t] += xf[e] * xf[e];
    }
  };

  uint4 wraw[kUnroll][kRows];
  auto fetch = [&](int c0) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = c0 + u * kThreads;
#pragma unroll
      for (int r = 0; r < kRows; ++r) wraw[u][r] = c < chunks ? load_stream(wr[r] + c) : make_uint4(0, 0, 0, 0);
    }
  };
  // Nothing writes the weights: their first loads go out before waiting for the previous kernel.
  fetch(threadIdx.x);
  pdl_launch_dependents();
  pdl_wait();
  for (int c0 = threadIdx.x; c0 < chunks; c0 += kThreads * kUnroll) {
    if (c0 != int(threadIdx.x)) fetch(c0);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int c = c0 + u * kThreads;
      if (c >= chunks) break;
      // The inputs first, then one weight row at a time: fewer values live at once.
      float xf[Tokens][8], gf[8];
      if constexpr (kNorm) unpack8<T>(__ldg(gr + c), gf);
#pragma unroll
      for (int t = 0; t < Tokens; ++t) {
        if (t >= tokens) break;
        input(t, c, xf[t]);
        if constexpr (kNorm) {
#pragma unroll
          for (int e = 0; e < 8; ++e) xf[t][e] *= gf[e];
        }
      }
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        float wf[8];
        unpack8<T>(wraw[u][r], wf);
#pragma unroll
        for (int t = 0; t < Tokens; ++t) {
          if (t >= tokens) break;
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[r][t] += wf[e] * xf[t][e];
        }
      }
    }
  }

#pragma unroll
  for (int t = 0; t < Tokens; ++t) {
    if (t >= tokens) break;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const float v = warp_sum(acc[r][t]);
      if (lane == 0) partial[warp][r * Tokens + t] = v;
    }
    if constexpr (kNorm) {
      const float v = warp_sum(sq[t]);
      if (lane == 0) partial[warp][kDots + t] = v;
    }
  }
  __syncthreads();
  const T* bias = static_cast<const T*>(a.bias);
  for (int i = threadIdx.x; i < kDots; i += kThreads) {
    const int r = i / Tokens, t = i % Tokens, o = out0 + r;
    if (t >= tokens || o >= n) continue;
    const int row = Rope ? rope_pair_row(rp, o) : o;
    float v = 0.0f;
#pragma unroll
    for (int wp = 0; wp < kWarps; ++wp) v += partial[wp][i];
    if constexpr (kNorm) {
      float s = 0.0f;
#pragma unroll
      for (int wp = 0; wp < kWarps; ++wp) s += partial[wp][kDots + t];
      v *= rsqrtf(s / float(k) + a.eps);
    }
    // As linear's output then bias_add: rounded to the output type before and after the bias.
    if (bias) v = to_float(from_float<O>(v)) + to_float(bias[row]);
    if constexpr (Rope)
      result[r][t] = to_float(from_float<T>(v));
    else
      static_cast<O*>(a.out)[size_t(t) * n + row] = from_float<O>(v);
  }
  if constexpr (Rope) {
    __syncthreads();
    for (int i = threadIdx.x; i < kDots / 2; i += kThreads) {
      const int pair = i / Tokens, t = i % Tokens, o = out0 + 2 * pair;
      if (t >= tokens || o >= n) continue;
      rope_store_pair<T>(rp, o, t, result[2 * pair][t], result[2 * pair + 1][t]);
    }
  }
}

template <int Tokens, typename T, typename O, SkinnyInput In, bool Rope>
void launch_instance(const SkinnyGemmArgs& a, const QkvRopeParams& rp, const KernelLaunch& launch) {
  constexpr int kRows = Blocking<Tokens>::kRows;
  launch_pdl(skinny_gemm_kernel<T, O, Tokens, In, Rope>, unsigned((a.n + kRows - 1) / kRows), kThreads, 0, launch, a,
             rp);
}

template <typename T, typename O>
void launch_plain(const SkinnyGemmArgs& a, const KernelLaunch& launch) {
  static_assert(kSkinnyGemmMaxTokens == 2, "one instance per token count");
  if (a.tokens <= 1)
    launch_instance<1, T, O, SkinnyInput::Plain, false>(a, QkvRopeParams{}, launch);
  else
    launch_instance<2, T, O, SkinnyInput::Plain, false>(a, QkvRopeParams{}, launch);
}

// The instances that run: plain GEMMs in either output type at 1-2 tokens; at one token the fused
// inputs with T outputs and the RoPE epilogue behind the norm (the qkv projection).
template <typename T>
bool launch_typed(const SkinnyGemmArgs& a, const QkvRopeParams* rope, const KernelLaunch& launch) {
  const bool to_t = a.out_dtype == a.in_dtype;
  if (a.input == SkinnyInput::Plain && !rope) {
    if (to_t)
      launch_plain<T, T>(a, launch);
    else if (a.out_dtype == DType::F32)
      launch_plain<T, float>(a, launch);
    else
      return false;
    return true;
  }
  if (a.tokens != 1 || !to_t) return false;
  if (rope && a.input == SkinnyInput::AddRmsNorm)
    launch_instance<1, T, T, SkinnyInput::AddRmsNorm, true>(a, *rope, launch);
  else if (!rope && a.input == SkinnyInput::AddRmsNorm)
    launch_instance<1, T, T, SkinnyInput::AddRmsNorm, false>(a, QkvRopeParams{}, launch);
  else
    return false;
  return true;
}

}  // namespace

bool launch_skinny_gemm(const SkinnyGemmArgs& a, const QkvRopeParams* rope, const KernelLaunch& launch) {
  const bool aligned = a.k % 8 == 0 && aligned16({a.x, a.w, a.delta, a.norm_weight, a.residual_out});
  if (a.tokens < 1 || a.tokens > kSkinnyGemmMaxTokens || a.n < 1 || !aligned || a.in_dtype == DType::F32) return false;
  if (a.input == SkinnyInput::AddRmsNorm && (!a.norm_weight || (a.delta && !a.residual_out))) return false;
  if (rope && (rope->q_norm || rope->k_norm || rope->head_dim % 2 != 0 ||
               a.n != (rope->num_heads + 2 * rope->num_kv_heads) * rope->head_dim))
    return false;
  bool launched = false;
  TURBINE_DISPATCH_HALF(a.in_dtype, launched = launch_typed<T>(a, rope, launch));
  if (launched) TURBINE_CUDA_LAUNCH_CHECK();
  return launched;
}

}  // namespace turbine::cuda
