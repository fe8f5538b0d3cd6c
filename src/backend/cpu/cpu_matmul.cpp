// linear(): out[T, N] = x[T, K] @ weight[N, K]^T (+ bias), the CPU hot path.
//
// Work is split over blocks of weight rows (N): at decode (T = 1..few) the op is bound by
// reading the weights once, so every thread streams its own rows; at prefill each block of
// rows stays in cache while all T activations pass over it. Two micro-kernel forms (one copy per
// instruction set, cpu_kernels.inc):
//  - few tokens: dot products of x rows with weight rows, bf16/fp16 widened to fp32 in registers;
//  - from kTokenForm tokens: x transposed once per call, each weight block widened once into a
//    per-thread fp32 scratch, then tiles of 6 weight rows x 16 tokens or 12 x 8 (broadcast weight times
//    a vector of tokens: no horizontal sums, more FMAs per load than the dot form).
#include <algorithm>

#include "backend/cpu/cpu_backend.h"

namespace turbine {

namespace {

// Token counts from which the transposed, many-token form pays for its transposition and widening.
constexpr int64_t kTokenForm = 8;

// Weight rows per block: about 24 KiB of weights (L1-resident while the T rows pass), in whole
// micro-tiles (a multiple of 24 rows: the tile widths are 1, 3, 4, 6, 8 and 12).
int64_t block_rows(int64_t K, DType dtype) {
  const int64_t row_bytes = std::max<int64_t>(K * int64_t(dtype_size(dtype)), 1);
  return std::clamp<int64_t>((24576 / row_bytes) / 24 * 24, 24, 240);
}

}  // namespace

void CpuBackend::do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  const int64_t T = x.dim(0), K = x.dim(1), N = weight.dim(0);
  const bool has_bias = bias && bias->defined();
  if (T == 0 || N == 0) return;
  if (T >= kTokenForm) {
    const int64_t block = block_rows(K, weight.dtype);
    const cpu::KernelTable& k = *kernels_;
    linear_many_tokens(
        x, N, block,
        [&](float* scratch, int64_t n0, int64_t rows) -> const float* {
          if (weight.dtype == DType::BF16)
            k.widen_bf16(weight.ptr<uint16_t>() + n0 * K, scratch, rows * K);
          else if (weight.dtype == DType::F16)
            k.widen_f16(weight.ptr<uint16_t>() + n0 * K, scratch, rows * K);
          else
            return weight.ptr<float>() + n0 * K;
          return scratch;
        },
        bias, out);
    return;
  }

  const int64_t block = block_rows(K, weight.dtype);
  const int64_t num_blocks = (N + block - 1) / block;
  const float* xp = x.ptr<float>();
  float* op = out.ptr<float>();
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for(num_blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block, n1 = std::min(N, n0 + block);
      switch (weight.dtype) {
        case DType::BF16: k.linear_bf16(xp, T, weight.ptr<uint16_t>(), n0, n1, K, op, N); break;
        case DType::F16: k.linear_f16(xp, T, weight.ptr<uint16_t>(), n0, n1, K, op, N); break;
        default: k.linear_f32(xp, T, weight.ptr<float>(), n0, n1, K, op, N); break;
      }
      if (has_bias) {
        const float* bp = bias->ptr<float>();
        for (int64_t t = 0; t < T; ++t)
          for (int64_t n = n0; n < n1; ++n) op[t * N + n] += bp[n];
      }
    }
  });
}

void CpuBackend::linear_many_tokens(const Tensor& x, int64_t N, int64_t block, const WidenRows& widen_rows,
                                    const Tensor* bias, Tensor& out) {
  const int64_t T = x.dim(0), K = x.dim(1);
  const int64_t num_blocks = (N + block - 1) / block;
  // Tokens go in slabs of about 128 KiB of transposed activations ([K][slab], L2-resident while every
  // weight tile of a block passes over it), slab by slab per block, so a long prefill does not stream
  // all of x from memory once per weight tile.
  const int64_t slab = std::max<int64_t>(16, 32768 / std::max<int64_t>(K, 1) / 16 * 16);
  const int64_t padded = (T + 7) / 8 * 8;
  // Scratch grows to the largest call seen and is then reused: nothing is allocated per step.
  if (linear_xt_.size() < size_t(K * padded)) linear_xt_.resize(size_t(K * padded));
  const size_t per_thread = size_t(block * K);
  const size_t w_size = per_thread * size_t(pool_->size());
  if (linear_w_.size() < w_size) linear_w_.resize(w_size);

  // Slab s starts at token s * slab and is stored from xt + s * slab * K as [K][ldx] (ldx: its tokens,
  // rounded up to 8, zero past T). The copy goes in strips of 16 columns (one cache line of x) by the
  // slab's tokens, split over the pool, each transposed in 8 x 8 register squares (transpose_tokens):
  // a column-by-column copy would read x with a stride of K floats, all in the same few L1 sets.
  float* xt = linear_xt_.data();
  const float* xp = x.ptr<float>();
  const int64_t col_chunks = (K + 15) / 16;
  const int64_t num_slabs = (T + slab - 1) / slab;
  pool_->parallel_for(num_slabs * col_chunks, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t0 = (i / col_chunks) * slab, k0 = (i % col_chunks) * 16, k1 = std::min(K, k0 + 16);
      const int64_t ts = std::min(slab, T - t0), ldx = (ts + 7) / 8 * 8;
      float* dst = xt + t0 * K;
      kernels_->transpose_tokens(xp + t0 * K, K, ts, k0, k1, dst, ldx);
      for (int64_t c = k0; c < k1; ++c)
        for (int64_t t = ts; t < ldx; ++t) dst[c * ldx + t] = 0.0f;
    }
  });
  float* op = out.ptr<float>();
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for_with_thread(num_blocks, [&](int thread, int64_t b0, int64_t b1) {
    float* scratch = linear_w_.data() + size_t(thread) * per_thread;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block, n1 = std::min(N, n0 + block), rows = n1 - n0;
      const float* w = widen_rows(scratch, n0, rows);
      for (int64_t t0 = 0; t0 < T; t0 += slab) {
        const int64_t ts = std::min(slab, T - t0), ldx = (ts + 7) / 8 * 8;
        k.linear_tokens(xt + t0 * K, ldx, ts, w, rows, K, op + t0 * N + n0, N);
      }
      if (bias && bias->defined()) {
        const float* bp = bias->ptr<float>();
        for (int64_t t = 0; t < T; ++t)
          for (int64_t n = n0; n < n1; ++n) op[t * N + n] += bp[n];
      }
    }
  });
}

}  // namespace turbine
