// Flash attention (FlashAttention-2 scheme) for prefill chunks on tensor cores. A block of 8 warps
// takes 128 new tokens of one sequence for one query head, each warp 16 of them. Key tiles of 64
// keys stream from the paged cache into shared memory with cp.async, three stages deep (two tiles
// load while one is computed on, one barrier per tile); S = Q K^T and O += P V run as m16n8k16
// mma.sync with fp32 accumulators, and the softmax stays online in registers (base 2, scale *
// log2(e) folded into the exponent). GQA heads read their KV head's tiles separately (L2 serves
// the repeats).
// A quantized cache (int8 / int4 / fp8, backend/kv_format.h): the stages hold the tiles' raw rows and
// parameter words (cp.async as for a dense cache), and after each tile's barrier the block dequantizes
// the tile into one dense K/V buffer (kv_quant.cuh's arithmetic, rounded to T), which a second barrier
// hands to the same mma code; Q waits in that buffer until its fragments are in registers.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/attention/attention_work.h"
#include "backend/cuda/attention/flash_prefill.h"
#include "backend/cuda/attention/kv_quant.cuh"
#include "backend/cuda/common/cp_async.cuh"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/common/mma.cuh"

namespace turbine::cuda {
namespace {

constexpr int kRows = kPrefillTileTokens;  // query rows per block, 16 per warp
constexpr int kWarps = kRows / 16;
constexpr int kThreads = kWarps * 32;
constexpr int kKeys = 64;               // keys per tile
constexpr int kMinBlocks = 8 / kWarps;  // blocks per SM the registers must allow
constexpr int kStages = 3;              // K/V tiles in shared memory: one computed on, two loading
constexpr float kLog2e = 1.4426950408889634f;
static_assert(kRows % 16 == 0 && kRows <= 2 * kKeys, "m16 row blocks; Q fits in the second K/V buffer");

// Shared tiles are [64][D + 8] elements: the 16-byte pad moves consecutive rows to different banks,
// so ldmatrix's eight row reads never collide.
template <int D>
__host__ __device__ constexpr int row_stride() {
  return D + 8;
}
template <int D, KvFormat F>
constexpr size_t smem_bytes() {
  const size_t dense_tile = size_t(2) * kKeys * row_stride<D>() * sizeof(uint16_t);
  if constexpr (F == KvFormat::Dense) return kStages * dense_tile;
  // One dense tile (and Q), then the stages' raw rows and parameter words (fp8: a row's parity byte too).
  return dense_tile + size_t(kStages) * 2 * kKeys * (kv_element_bytes<F>(D) + 4 + 1);
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// Two floats as one register of two T, `lo` in the low half (the lower column).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  } else {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
}

__device__ __forceinline__ float fast_exp2(float x) {  // exp2(-inf) = 0
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

template <typename T, int D, KvFormat F>
__global__ void __launch_bounds__(kThreads, kMinBlocks) flash_prefill_kernel(PagedAttentionParams p) {
  constexpr int S = row_stride<D>();
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  constexpr int kDSteps = D / 16;
  constexpr bool kQuant = F != KvFormat::Dense;
  // A quantized row's values in a stage: a multiple of 16 bytes for head_dim 64 and 128.
  constexpr int kRawRow = kv_element_bytes<F>(D), kRawChunks = kRawRow / 16;
  static_assert(!kQuant || kRawChunks + 2 <= kChunks, "a row's loaders also copy its two parameter words");
  extern __shared__ __align__(16) unsigned char flash_smem[];
  // Dense: stages [kStages][K|V][kKeys][S]; Q borrows the last stage until its fragments are in
  // registers. Quantized: the dequantized tile [K|V][kKeys][S] (Q's place first), then the stages'
  // raw rows [kStages][K|V][kKeys][kRawRow], parameter words [kStages][K|V][kKeys] and (fp8, whose
  // 2-byte parameters are copied as the aligned word holding them) which half is the row's.
  T* const kv = reinterpret_cast<T*>(flash_smem);
  T* const qs = kQuant ? kv : kv + (kStages - 1) * 2 * kKeys * S;
  uint8_t* const raw = flash_smem + 2 * kKeys * S * sizeof(T);
  uint32_t* const raw_params = reinterpret_cast<uint32_t*>(raw + kStages * 2 * kKeys * kRawRow);
  uint8_t* const param_half = reinterpret_cast<uint8_t*>(raw_params + kStages * 2 * kKeys);

  const int head = blockIdx.x;
  const int seq = p.prefill_tiles[2 * blockIdx.y], tok0 = p.prefill_tiles[2 * blockIdx.y + 1];
  const int q0 = p.query_start[seq], nq = p.query_start[seq + 1] - q0;
  const int rows = min(kRows, nq - tok0);
  const int first_pos = p.context_lens[seq] - nq + tok0;  // position of the tile's row 0
  const int last_pos = first_pos + rows - 1;
  const int group = p.num_heads / p.num_kv_heads, kvh = head / group;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int window = p.sliding_window;
  const int key_begin = window > 0 ? max(0, first_pos - window + 1) : 0;
  const int key_end = last_pos + 1;  // causal: no row sees past the tile's last position
  const int tiles = (key_end - key_begin + kKeys - 1) / kKeys;

  // Q rows past the sequence's new tokens repeat its last token; they are never stored.
  const T* qg = static_cast<const T*>(p.q);
  for (int i = tid; i < kRows * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const size_t tok = size_t(q0) + tok0 + min(r, rows - 1);
    cp_async16(qs + r * S + c * 8, qg + (tok * p.num_heads + head) * D + c * 8, true);
  }
  cp_async_commit();

  const T* cache = static_cast<const T*>(p.cache_layer);
  const int* table = p.block_tables + size_t(seq) * p.max_blocks;
  const size_t head_stride = size_t(p.block_len) * D;
  const size_t v_offset = size_t(p.num_kv_heads) * head_stride;
  // Each key row is found through the block table on its own, so a tile may span cache blocks of
  // any length. A thread copies chunk `chunk` of rows row0 + u * kRowStep. The block ids of a
  // tile are read one tile before its copy is issued, so the table's latency hides behind compute.
  constexpr int kLoads = kKeys * kChunks / kThreads;
  constexpr int kRowStep = kThreads / kChunks;
  static_assert(kLoads * kThreads == kKeys * kChunks, "whole tiles per pass");
  const int row0 = tid / kChunks, chunk = tid % kChunks;
  auto find_rows = [&](int k0, int(&blk)[kLoads], int(&off)[kLoads]) {
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int pos = k0 + row0 + u * kRowStep;
      blk[u] = off[u] = 0;
      if (pos < key_end) {
        const int b = pos / p.block_len;
        blk[u] = table[b];
        off[u] = pos - b * p.block_len;
      }
    }
  };
  // Keys at or past key_end are zero-filled: their P is 0 and 0 * V must stay finite (a quantized
  // row's parameters too, so it dequantizes to 0).
  auto load_kv = [&](int k0, int stage, const int(&blk)[kLoads], const int(&off)[kLoads]) {
    if constexpr (!kQuant) {
      T* kd = kv + stage * 2 * kKeys * S;
      T* vd = kd + kKeys * S;
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        const int r = row0 + u * kRowStep;
        const bool valid = k0 + r < key_end;
        const T* src =
            cache + (size_t(blk[u]) * 2 * p.num_kv_heads + kvh) * head_stride + size_t(off[u]) * D + chunk * 8;
        cp_async16(kd + r * S + chunk * 8, valid ? src : cache, valid);
        cp_async16(vd + r * S + chunk * 8, valid ? src + v_offset : cache, valid);
      }
    } else {
      // A row's loaders: chunks 0..kRawChunks-1 copy 16 bytes of its K and V values, the next two its
      // K and V parameter words.
      const QuantKvLayout layout{p.kv_block_bytes, p.kv_param_offset, p.block_len, p.num_kv_heads, kRawRow,
                                 kv_param_bytes<F>()};
      uint8_t* const base = static_cast<uint8_t*>(const_cast<void*>(p.cache_layer));
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        const int r = row0 + u * kRowStep;
        const bool valid = k0 + r < key_end;
        if (chunk < kRawChunks) {
#pragma unroll
          for (int kvi = 0; kvi < 2; ++kvi) {
            const uint8_t* src = layout.elements(base, blk[u], kvi, kvh, off[u]) + chunk * 16;
            cp_async16(raw + ((stage * 2 + kvi) * kKeys + r) * kRawRow + chunk * 16, valid ? src : base, valid);
          }
        } else if (chunk < kRawChunks + 2) {
          const int kvi = chunk - kRawChunks;
          const uint8_t* src = layout.params(base, blk[u], kvi, kvh, off[u]);
          if constexpr (F == KvFormat::Fp8) {  // the 4-byte aligned word holding the 2-byte scale
            const size_t at = size_t(src - base);
            param_half[(stage * 2 + kvi) * kKeys + r] = uint8_t((at >> 1) & 1);
            src = base + (at & ~size_t(3));
          }
          cp_async4(raw_params + (stage * 2 + kvi) * kKeys + r, valid ? src : base, valid);
        }
      }
    }
  };
  // Quantized: the tile in `stage` dequantized into the dense buffer (8 values a thread and pass).
  auto dequantize_tile = [&](int stage) {
    for (int i = tid; i < 2 * kKeys * kChunks; i += kThreads) {
      const int kvi = i / (kKeys * kChunks), r = i / kChunks % kKeys, c = i % kChunks;
      const int slot = (stage * 2 + kvi) * kKeys + r;
      const uint4 bytes = load8_quantized<F>(raw + size_t(slot) * kRawRow, c * 8);
      uint32_t word = raw_params[slot];
      if constexpr (F == KvFormat::Fp8) word = (word >> (16 * param_half[slot])) & 0xffffu;
      const float2 sz = kv_params_of(word);
      float vals[8];
      dequant8<F>(bytes, sz.x, sz.y, vals);
      *reinterpret_cast<uint4*>(kv + (kvi * kKeys + r) * S + c * 8) = pack8<T>(vals);
    }
  };
  // Stages 0 and 1 start loading now; Q waits in stage 2 until its fragments are in registers.
  int blk[kLoads], off[kLoads];
  find_rows(key_begin, blk, off);
  load_kv(key_begin, 0, blk, off);
  cp_async_commit();
  if (tiles > 1) {
    find_rows(key_begin + kKeys, blk, off);
    load_kv(key_begin + kKeys, 1, blk, off);
  }
  cp_async_commit();
  find_rows(key_begin + 2 * kKeys, blk, off);

  // Q fragments (A operand) for the warp's 16 rows, kept in registers for the whole key loop.
  cp_async_wait<2>();
  __syncthreads();
  uint32_t qf[kDSteps][4];
#pragma unroll
  for (int kk = 0; kk < kDSteps; ++kk)
    ldmatrix_x4(qf[kk], qs + (warp * 16 + (lane & 15)) * S + kk * 16 + (lane >> 4) * 8);

  // This thread's accumulator rows are g and g + 8 of the warp's 16; columns 2t, 2t + 1 of each n8 block.
  const int g = lane >> 2, t4 = lane & 3;
  int row_pos[2];
  row_pos[0] = min(first_pos + warp * 16 + g, last_pos);
  row_pos[1] = min(first_pos + warp * 16 + g + 8, last_pos);
  const float scale_log2 = p.scale * kLog2e;
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // m in scaled (log2) units

  int stage = 0;
  for (int tile = 0; tile < tiles; ++tile) {
    const int k0 = key_begin + tile * kKeys;
    cp_async_wait<1>();  // this tile's copy is done (the next one may still be in flight)
    // One barrier per tile: the tile is visible to all, and every warp has left the tile before,
    // whose stage (or Q, on the first pass) the copy below overwrites.
    __syncthreads();
    if (tile + 2 < tiles) {
      load_kv(k0 + 2 * kKeys, stage == 0 ? 2 : stage - 1, blk, off);
      find_rows(k0 + 3 * kKeys, blk, off);
    }
    cp_async_commit();
    if constexpr (kQuant) {
      // The barrier above also freed the dense buffer (every warp has left the tile before, and Q).
      dequantize_tile(stage);
      __syncthreads();
    }
    const T* kt = kv + (kQuant ? 0 : stage) * 2 * kKeys * S;
    const T* vt = kt + kKeys * S;
    stage = stage == kStages - 1 ? 0 : stage + 1;

    float s[kKeys / 8][4];
#pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kDSteps; ++kk) {
#pragma unroll
      for (int n2 = 0; n2 < kKeys / 16; ++n2) {
        uint32_t b[4];  // keys n2*16 + 0..7 then + 8..15, dims kk*16 + 0..7 and + 8..15 each
        ldmatrix_x4(b, kt + (n2 * 16 + (lane >> 4) * 8 + (lane & 7)) * S + kk * 16 + ((lane >> 3) & 1) * 8);
        mma_m16n8k16<T>(s[2 * n2], qf[kk], b[0], b[1]);
        mma_m16n8k16<T>(s[2 * n2 + 1], qf[kk], b[2], b[3]);
      }
    }

    // Masks only where some (row, key) pair of the tile is invisible: the diagonal, the end, the window.
    const bool masked = k0 + kKeys - 1 > first_pos || k0 + kKeys > key_end || (window > 0 && k0 <= last_pos - window);
    float mx[2] = {-INFINITY, -INFINITY};  // raw scores; the scale is positive, so it commutes with max
#pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (masked) {
          const int key = k0 + n * 8 + 2 * t4 + (e & 1), pos = row_pos[e >> 1];
          if (key > pos || (window > 0 && key <= pos - window)) s[n][e] = -INFINITY;
        }
        mx[e >> 1] = fmaxf(mx[e >> 1], s[n][e]);
      }
    }
    float base[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
      mx[h] = fmaxf(m[h], mx[h] * scale_log2);
      base[h] = mx[h] == -INFINITY ? 0.0f : mx[h];  // a row that sees nothing yet keeps p = 0
      const float correction = fast_exp2(m[h] - base[h]);
      m[h] = mx[h];
      l[h] *= correction;
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        o[n][2 * h] *= correction;
        o[n][2 * h + 1] *= correction;
      }
    }
    // P (this thread's part of the row sums stays partial until the end) as the A operand of P V.
    uint32_t pa[kKeys / 16][4];
#pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      const float p0 = fast_exp2(fmaf(s[n][0], scale_log2, -base[0]));
      const float p1 = fast_exp2(fmaf(s[n][1], scale_log2, -base[0]));
      const float p2 = fast_exp2(fmaf(s[n][2], scale_log2, -base[1]));
      const float p3 = fast_exp2(fmaf(s[n][3], scale_log2, -base[1]));
      l[0] += p0 + p1;
      l[1] += p2 + p3;
      pa[n >> 1][(n & 1) * 2] = pack2<T>(p0, p1);
      pa[n >> 1][(n & 1) * 2 + 1] = pack2<T>(p2, p3);
    }
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
#pragma unroll
      for (int n2 = 0; n2 < D / 16; ++n2) {
        uint32_t b[4];  // V transposed: keys kk*16 + 0..7 and + 8..15, dims n2*16 + 0..7 then + 8..15
        ldmatrix_x4_trans(b, vt + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * S + n2 * 16 + (lane >> 4) * 8);
        mma_m16n8k16<T>(o[2 * n2], pa[kk], b[0], b[1]);
        mma_m16n8k16<T>(o[2 * n2 + 1], pa[kk], b[2], b[3]);
      }
    }
  }
  cp_async_wait<0>();

  T* out = static_cast<T*>(p.out);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    const float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
    const int r = warp * 16 + g + 8 * h;
    if (r >= rows) continue;
    T* orow = out + (size_t(q0 + tok0 + r) * p.num_heads + head) * D;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
      *reinterpret_cast<uint32_t*>(orow + n * 8 + 2 * t4) = pack2<T>(o[n][2 * h] * inv, o[n][2 * h + 1] * inv);
  }
}

template <typename T, int D, KvFormat F>
void launch_typed(const PagedAttentionParams& p, cudaStream_t stream) {
  auto kernel = flash_prefill_kernel<T, D, F>;
  constexpr size_t smem = smem_bytes<D, F>();
  if (smem > 48 * 1024)
    TURBINE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const dim3 grid(p.num_heads, p.num_prefill_tiles);  // heads fastest: the longest tiles of all heads go first
  kernel<<<grid, kThreads, smem, stream>>>(p);
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace

template <int D>
size_t smem_for(KvFormat format) {
  switch (format) {
    case KvFormat::Dense: return smem_bytes<D, KvFormat::Dense>();
    case KvFormat::Int8: return smem_bytes<D, KvFormat::Int8>();
    case KvFormat::Int4: return smem_bytes<D, KvFormat::Int4>();
    case KvFormat::Fp8: return smem_bytes<D, KvFormat::Fp8>();
  }
  return 0;
}

template <typename T, int D>
void launch_format(const PagedAttentionParams& p, cudaStream_t stream) {
  switch (p.kv_format) {
    case KvFormat::Dense: launch_typed<T, D, KvFormat::Dense>(p, stream); break;
    case KvFormat::Int8: launch_typed<T, D, KvFormat::Int8>(p, stream); break;
    case KvFormat::Int4: launch_typed<T, D, KvFormat::Int4>(p, stream); break;
    case KvFormat::Fp8: launch_typed<T, D, KvFormat::Fp8>(p, stream); break;
  }
}

size_t flash_prefill_smem_bytes(int head_dim, KvFormat format) {
  return head_dim == 64 ? smem_for<64>(format) : head_dim == 128 ? smem_for<128>(format) : 0;
}

void launch_flash_prefill(const PagedAttentionParams& p, cudaStream_t stream) {
  if (p.num_prefill_tiles == 0) return;
  if (!flash_prefill_supports(p))
    fail("cuda flash prefill: head_dim {} unsupported or {} bytes of shared memory too few", p.head_dim,
         p.max_smem_per_block);
  if (p.num_prefill_tiles > 65535) fail("cuda flash prefill: {} tiles exceed the grid", p.num_prefill_tiles);
  if (p.kv_format != KvFormat::Dense && (p.kv_block_bytes == 0 || p.kv_param_offset == 0))
    fail("cuda flash prefill: a {} cache needs its block layout", kv_format_name(p.kv_format));
  TURBINE_DISPATCH_HALF(p.dtype, {
    if (p.head_dim == 64)
      launch_format<T, 64>(p, stream);
    else
      launch_format<T, 128>(p, stream);
  });
}

}  // namespace turbine::cuda
