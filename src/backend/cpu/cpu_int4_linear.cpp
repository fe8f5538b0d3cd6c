// linear() with a 4-bit weight (AWQ W4A16) on the CPU. The backend's layout keeps eight consecutive
// columns of a row in one 32-bit word (one broadcast, shift and mask give eight lanes), and per (row,
// group) an fp32 scale and offset (-scale * zero), so that w = q * scale + offset needs no integer
// subtraction. Few tokens: the kernel's dot form reads 4-bit rows directly, a quarter of the bytes of a
// 16-bit weight; from kTokenForm tokens a block of rows is widened to fp32 once and multiplied with
// the dense many-token kernel (cpu_matmul.cpp), as the 16-bit weights are.
#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/dtype.h"
#include "core/error.h"

namespace turbine {

namespace {

constexpr int64_t kTokenForm = 8;  // as for dense weights (cpu_matmul.cpp)

// Rows per block of work: about 24 KiB of widened fp32 weights for the many-token form, whole tiles.
int64_t int4_block_rows(int64_t K) {
  return std::clamp<int64_t>((24576 / std::max<int64_t>(K * 4, 1)) / 24 * 24, 24, 240);
}

}  // namespace

Int4Weight CpuBackend::pack_int4(const HostInt4Matrix& m) {
  const int64_t groups = m.group_size > 0 ? m.k / m.group_size : 0;
  if (m.n <= 0 || m.k <= 0 || m.group_size <= 0 || m.k % m.group_size != 0)
    fail("cpu: a 4-bit matrix [{}, {}] with group size {} (the group size must divide the columns)", m.n, m.k,
         m.group_size);
  if (m.group_size % 8 != 0) fail("cpu: 4-bit weights need a group size that is a multiple of 8, got {}", m.group_size);
  if (m.q.size() != size_t(m.n * m.k) || m.zeros.size() != size_t(m.n * groups) ||
      m.scales.size() != size_t(m.n * groups))
    fail("cpu: a 4-bit matrix's arrays do not match its [{}, {}] shape", m.n, m.k);
  Int4Weight w;
  w.n = m.n;
  w.k = m.k;
  w.group_size = m.group_size;
  w.packed = empty(DType::I32, {m.n, m.k / 8});
  w.scales = empty(DType::F32, {m.n, groups});
  w.zeros = empty(DType::F32, {m.n, groups});
  uint32_t* packed = static_cast<uint32_t*>(w.packed.data);
  for (int64_t r = 0; r < m.n; ++r)
    for (int64_t j = 0; j < m.k / 8; ++j) {
      uint32_t word = 0;
      for (int i = 0; i < 8; ++i) word |= uint32_t(m.q[size_t(r * m.k + 8 * j + i)] & 15u) << (4 * i);
      packed[r * (m.k / 8) + j] = word;
    }
  float* scales = w.scales.ptr<float>();
  float* offsets = w.zeros.ptr<float>();
  for (size_t i = 0; i < size_t(m.n * groups); ++i) {
    scales[i] = f16_to_f32(m.scales[i]);
    offsets[i] = -scales[i] * float(m.zeros[i] & 15u);
  }
  return w;
}

void CpuBackend::do_linear_int4(const Tensor& x, const Int4Weight& w, const Tensor* bias, Tensor& out) {
  const int64_t T = x.dim(0), K = w.k, N = w.n, G = w.group_size, groups = K / G;
  if (T == 0 || N == 0) return;
  const uint32_t* packed = static_cast<const uint32_t*>(w.packed.data);
  const float* scales = w.scales.ptr<float>();
  const float* offsets = w.zeros.ptr<float>();
  const cpu::KernelTable& k = *kernels_;
  if (T >= kTokenForm) {
    linear_many_tokens(
        x, N, int4_block_rows(K),
        [&](float* scratch, int64_t n0, int64_t rows) -> const float* {
          k.widen_int4(packed + n0 * (K / 8), scales + n0 * groups, offsets + n0 * groups, rows, K, int(G), scratch);
          return scratch;
        },
        bias, out);
    return;
  }
  const float* xp = x.ptr<float>();
  if (int4_xsum_.size() < size_t(T * groups)) int4_xsum_.resize(size_t(T * groups));
  float* xsum = int4_xsum_.data();
  // Groups of 64 columns or more take the masked kernel, which reads x permuted (int4_prepare_x also
  // sums the groups); smaller ones the shifting kernel, with the sums taken here.
  const bool masked = G % 64 == 0;
  if (masked) {
    if (int4_xperm_.size() < size_t(T * K)) int4_xperm_.resize(size_t(T * K));
    k.int4_prepare_x(xp, T, K, int(G), int4_xperm_.data(), xsum);
  } else {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t g = 0; g < groups; ++g) {
        float s = 0.0f;
        for (int64_t c = g * G; c < (g + 1) * G; ++c) s += xp[t * K + c];
        xsum[t * groups + g] = s;
      }
  }
  const float* xperm = int4_xperm_.data();
  // Blocks of 64 rows: a 4-bit row of K = 4096 is 2 KiB, so a block is about what a 16-bit one is.
  const int64_t block = 64, num_blocks = (N + block - 1) / block;
  float* op = out.ptr<float>();
  const bool has_bias = bias && bias->defined();
  pool_->parallel_for(num_blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block, n1 = std::min(N, n0 + block);
      if (masked)
        k.linear_int4_masked(xperm, xsum, T, packed, scales, offsets, n0, n1, K, int(G), op, N);
      else
        k.linear_int4(xp, xsum, T, packed, scales, offsets, n0, n1, K, int(G), op, N);
      if (has_bias) {
        const float* bp = bias->ptr<float>();
        for (int64_t t = 0; t < T; ++t)
          for (int64_t n = n0; n < n1; ++n) op[t * N + n] += bp[n];
      }
    }
  });
}

}  // namespace turbine
