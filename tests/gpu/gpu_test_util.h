// Shared helpers of the GPU tests: each CUDA op runs beside the CPU reference backend on the same
// inputs (rounded to the GPU's compute dtype first, so both see identical values) and the outputs
// are compared by relative L2 error and by the largest element error.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/batch_input.h"
#include "core/dtype.h"

namespace turbine::test {

// Every GPU test starts with this: CI has no GPU and must show the tests as skipped.
#define TURBINE_REQUIRE_GPU()                                                        \
  do {                                                                               \
    if (!::turbine::cuda_available()) GTEST_SKIP() << "no CUDA GPU on this machine"; \
  } while (0)

inline std::unique_ptr<Backend> make_cpu() {
  BackendOptions o;
  o.device = "cpu";
  o.threads = 2;
  return make_backend(o);
}

inline std::unique_ptr<Backend> make_gpu(DType dtype, const CudaOptions& cuda = {}) {
  BackendOptions o;
  o.device = "cuda";
  o.dtype = dtype;
  o.cuda = cuda;
  return make_backend(o);
}

// Uniform values in [lo, hi), already rounded to `dtype` (so fp32 references see the same inputs).
inline std::vector<float> random_values(std::mt19937& rng, size_t n, DType dtype, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  if (dtype == DType::F32) return v;  // nothing to round (and fp32 would overrun a 16-bit buffer)
  std::vector<uint16_t> half(n);
  convert_from_f32(v.data(), dtype, half.data(), n);
  convert_to_f32(half.data(), dtype, v.data(), n);
  return v;
}

// Fixture of the op tests: the CPU reference and the GPU backend in the test's dtype, and a
// seeded generator for the random inputs.
class CpuVsGpu : public ::testing::TestWithParam<DType> {
 protected:
  explicit CpuVsGpu(unsigned seed) : rng(seed) {}
  void SetUp() override {
    TURBINE_REQUIRE_GPU();
    dtype = GetParam();
    cpu = make_cpu();
    gpu = make_gpu(dtype);
  }
  DType dtype{};
  std::unique_ptr<Backend> cpu, gpu;
  std::mt19937 rng;
};

// CpuVsGpu plus a second GPU backend that runs every attention step on the general kernel
// (CudaOptions::general_attention), for tests that compare the attention kernels on one batch.
class CpuVsGpuAndGeneral : public CpuVsGpu {
 protected:
  using CpuVsGpu::CpuVsGpu;
  void SetUp() override {
    CpuVsGpu::SetUp();
    if (IsSkipped()) return;
    CudaOptions options;
    options.general_attention = true;
    general = make_gpu(dtype, options);
  }
  std::unique_ptr<Backend> general;
};

inline Tensor put(Backend& b, const std::vector<float>& v, std::vector<int64_t> shape, DType dtype) {
  return b.upload(v.data(), DType::F32, std::move(shape), dtype);
}

// A residual stream of [T, H] with `values` in the current buffer and garbage in the spare.
inline ResidualStream residual_stream(Backend& b, const std::vector<float>& values, int64_t T, int64_t H, DType dtype) {
  return {put(b, values, {T, H}, dtype), put(b, std::vector<float>(values.size(), 7.0f), {T, H}, dtype)};
}

inline Tensor put_ids(Backend& b, const std::vector<int32_t>& v) {
  return b.upload(v.data(), DType::I32, {int64_t(v.size())}, DType::I32);
}

// Per-element budget for results of fp16/bf16 kernels with fp32 accumulation: one or two
// roundings of the output plus accumulated input rounding.
inline double relative_tolerance(DType dtype) { return dtype == DType::BF16 ? 1.2e-2 : 2e-3; }

struct Comparison {
  double rel_l2 = 0, max_abs = 0, ref_max = 0;
  bool finite = true;
};

inline Comparison compare(const std::vector<float>& got, const std::vector<float>& want) {
  Comparison c;
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) c.finite = false;
    const double d = double(got[i]) - want[i];
    num += d * d;
    den += double(want[i]) * want[i];
    c.max_abs = std::max(c.max_abs, std::abs(d));
    c.ref_max = std::max(c.ref_max, std::abs(double(want[i])));
  }
  c.rel_l2 = std::sqrt(num / std::max(den, 1e-30));
  return c;
}

// Relative L2 within `tol`, and no element off by more than 8 * tol of the largest reference value.
#define TURBINE_EXPECT_CLOSE(got, want, tol)                                                    \
  do {                                                                                          \
    ASSERT_EQ((got).size(), (want).size());                                                     \
    const auto cmp_ = ::turbine::test::compare((got), (want));                                  \
    EXPECT_TRUE(cmp_.finite) << "non-finite output";                                            \
    EXPECT_LT(cmp_.rel_l2, (tol)) << "relative L2 error";                                       \
    EXPECT_LT(cmp_.max_abs, 8 * (tol)*std::max(cmp_.ref_max, 1e-6)) << "largest element error"; \
  } while (0)

// A batch of sequences (context already cached, new tokens) for the attention-side ops.
struct SeqSpec {
  int context, tokens;
};

// A batch whose sequences own shuffled, disjoint blocks of a cache with `num_blocks` blocks.
inline BatchInput make_batch(const std::vector<SeqSpec>& seqs, int block_len, int num_blocks, std::mt19937& rng) {
  std::vector<int32_t> free_blocks(num_blocks);
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
  BatchInput in;
  size_t next = 0;
  for (const auto& s : seqs) {
    SequenceInput seq;
    seq.context_len = s.context;
    seq.num_tokens = s.tokens;
    const int blocks = (s.context + s.tokens + block_len - 1) / block_len;
    for (int b = 0; b < blocks; ++b) seq.block_table.push_back(free_blocks.at(next++));
    in.sequences.push_back(seq);
    for (int t = 0; t < s.tokens; ++t) in.token_ids.push_back(t);
  }
  return in;
}

// The usual RoPE table (base 10000) over the first rotary_dim dims.
inline RopeTable test_rope(int rotary_dim, float attention_factor = 1.0f) {
  RopeTable rope;
  rope.rotary_dim = rotary_dim;
  rope.attention_factor = attention_factor;
  for (int i = 0; i < rotary_dim / 2; ++i) rope.inv_freq.push_back(float(std::pow(10000.0, -2.0 * i / rotary_dim)));
  return rope;
}

// What a cache holds before a test writes it: exact in fp16 and bf16, and far above any value the
// tests write (a written value may round to exactly 0, so 0 cannot mark the untouched slots).
constexpr float kUnwritten = 1000.0f;

inline void mark_unwritten(Backend& b, KvCache& cache) {
  const int64_t n = cache.data.numel();
  cache.data = put(b, std::vector<float>(size_t(n), kUnwritten), {n}, cache.spec.dtype);
}

inline size_t count_written(const std::vector<float>& cache) {
  return size_t(std::count_if(cache.begin(), cache.end(), [](float v) { return v != kUnwritten; }));
}

inline int blocks_needed(const std::vector<SeqSpec>& seqs, int block_len) {
  int n = 0;
  for (const auto& s : seqs) n += (s.context + s.tokens + block_len - 1) / block_len;
  return n + 3;  // a few never used
}

}  // namespace turbine::test
