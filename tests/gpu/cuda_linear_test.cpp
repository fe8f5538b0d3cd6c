// GEMM (linear) against the CPU reference: the skinny, Hopper (wgmma) and cuBLASLt paths on awkward
// shapes, bias, fp32 output for logits; the full-precision (all fp32) product.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gpu_test_util.h"

namespace turbine::test {
namespace {

struct LinearCase {
  int T, K, N;
  bool bias;
  DType out;
};

class CudaLinear : public ::testing::TestWithParam<DType> {};

TEST_P(CudaLinear, MatchesCpu) {
  TURBINE_REQUIRE_GPU();
  const DType dtype = GetParam();
  auto cpu = make_cpu();
  auto gpu = make_gpu(dtype);
  std::mt19937 rng(99);
  // T <= 2 with K % 8 == 0 runs the skinny GEMM; on compute capability 9.0, 3..48 tokens run the
  // wgmma GEMM; the rest cuBLASLt. The skinny cases cover both token instances (1, 2), N not a
  // multiple of the block's 4 or 2 rows, K shorter than one step of the block's threads (72) and
  // several steps with a ragged end (11008, 5000). The wgmma cases cover every token instance (8,
  // 16, 32, 48, padded from 3, 5, 9, 17, 33, 40), K not a multiple of its 64-wide boxes or of its
  // 256/384-wide steps, N not a multiple of its 128-row tiles, and splits where many pieces share
  // one tile (4096 x 4096: 32 tiles) or one piece spans several (K 72, N 40000). K not a multiple of
  // 8 (1001, 36) leaves 3..48 tokens to cuBLASLt.
  const LinearCase cases[] = {{1, 256, 768, false, dtype},        {3, 200, 131, true, dtype},
                              {17, 512, 1000, false, DType::F32}, {64, 264, 520, true, DType::F32},
                              {129, 1024, 96, false, dtype},      {8, 264, 77, true, DType::F32},
                              {5, 4096, 1037, false, dtype},      {2, 8, 3, false, dtype},
                              {1, 72, 1001, false, dtype},        {2, 72, 1001, false, DType::F32},
                              {4, 11008, 130, false, dtype},      {7, 5000, 33, true, dtype},
                              {9, 72, 1001, false, dtype},        {12, 4096, 257, false, DType::F32},
                              {16, 11008, 61, true, dtype},       {16, 5000, 1002, false, DType::F32},
                              {1, 4096, 2, false, DType::F32},    {2, 11008, 130, false, dtype},
                              {1, 5000, 33, true, dtype},         {33, 4096, 4096, false, dtype},
                              {40, 1000, 3000, true, dtype},      {64, 11008, 520, false, dtype},
                              {20, 72, 40000, false, DType::F32}, {48, 2048, 130, false, DType::F32},
                              {8, 4096, 12288, false, dtype},     {32, 1024, 4096, false, dtype},
                              {5, 1001, 300, false, dtype},       {24, 36, 200, true, DType::F32}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " bias=" << c.bias
                                    << " out=" << dtype_name(c.out));
    const auto x = random_values(rng, size_t(c.T) * c.K, dtype);
    const auto w = random_values(rng, size_t(c.N) * c.K, dtype, -0.1f, 0.1f);
    const auto b = random_values(rng, c.N, dtype);
    Tensor gb = put(*gpu, b, {c.N}, dtype);
    Tensor gout = gpu->empty(c.out, {c.T, c.N});
    gpu->linear(put(*gpu, x, {c.T, c.K}, dtype), put(*gpu, w, {c.N, c.K}, dtype), c.bias ? &gb : nullptr, gout);
    Tensor cb = put(*cpu, b, {c.N}, DType::F32);
    Tensor cout = cpu->empty(DType::F32, {c.T, c.N});
    cpu->linear(put(*cpu, x, {c.T, c.K}, DType::F32), put(*cpu, w, {c.N, c.K}, DType::F32), c.bias ? &cb : nullptr,
                cout);
    // fp32 output keeps the fp32 accumulation: far tighter than a rounded output.
    const double tol = c.out == DType::F32 ? 1e-4 : relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gout), cpu->download_f32(cout), tol);
  }
}

// A full-precision product (x, weight, bias and out all fp32, whatever the compute dtype; quantize's
// searches) is cuBLASLt's fp32 GEMM: against the CPU at fp32's tolerance (a TF32 or half product would
// be ~1e-3 off), with 1, 2 and 3..48 tokens (the other kernels' ranges), bias, and the searches' shapes
// (a moment: k x tokens times itself; an output error: n x k times k x k).
TEST_P(CudaLinear, FullPrecisionProductMatchesCpu) {
  TURBINE_REQUIRE_GPU();
  auto cpu = make_cpu();
  auto gpu = make_gpu(GetParam());
  std::mt19937 rng(7);
  const LinearCase cases[] = {{1, 256, 768, true, DType::F32},     {2, 72, 1001, false, DType::F32},
                              {17, 512, 1000, true, DType::F32},   {300, 1024, 96, false, DType::F32},
                              {256, 8192, 256, false, DType::F32}, {1280, 128, 128, false, DType::F32},
                              {768, 768, 768, true, DType::F32}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " bias=" << c.bias);
    const auto x = random_values(rng, size_t(c.T) * c.K, DType::F32);
    const auto w = random_values(rng, size_t(c.N) * c.K, DType::F32, -0.1f, 0.1f);
    const auto b = random_values(rng, c.N, DType::F32);
    auto run = [&](Backend& be) {
      Tensor bias = put(be, b, {c.N}, DType::F32), out = be.empty(DType::F32, {c.T, c.N});
      be.linear(put(be, x, {c.T, c.K}, DType::F32), put(be, w, {c.N, c.K}, DType::F32), c.bias ? &bias : nullptr, out);
      return be.download_f32(out);
    };
    TURBINE_EXPECT_CLOSE(run(*gpu), run(*cpu), 2e-5);
  }
  // Mixed: fp32 x with a half weight is neither product, and is refused naming x.
  Tensor out = gpu->empty(DType::F32, {2, 8});
  EXPECT_THROW(gpu->linear(put(*gpu, random_values(rng, 32, DType::F32), {2, 16}, DType::F32),
                           put(*gpu, random_values(rng, 128, GetParam()), {8, 16}, GetParam()), nullptr, out),
               Error);
}

// The wgmma GEMM sums a cut tile's pieces in a fixed order and resets its tile counters: repeated
// launches into a poisoned output give the same bits.
TEST_P(CudaLinear, RepeatsBitIdentically) {
  TURBINE_REQUIRE_GPU();
  const DType dtype = GetParam();
  auto gpu = make_gpu(dtype);
  std::mt19937 rng(7);
  const int T = 24, K = 4096, N = 1500;
  Tensor x = put(*gpu, random_values(rng, size_t(T) * K, dtype), {T, K}, dtype);
  Tensor w = put(*gpu, random_values(rng, size_t(N) * K, dtype, -0.1f, 0.1f), {N, K}, dtype);
  const std::vector<float> poison(size_t(T) * N, std::nanf(""));
  std::vector<float> first;
  for (int run = 0; run < 3; ++run) {
    Tensor out = put(*gpu, poison, {T, N}, DType::F32);
    gpu->linear(x, w, nullptr, out);
    const auto got = gpu->download_f32(out);
    ASSERT_FALSE(std::any_of(got.begin(), got.end(), [](float v) { return std::isnan(v); })) << "run " << run;
    if (run == 0)
      first = got;
    else
      ASSERT_EQ(std::memcmp(got.data(), first.data(), got.size() * sizeof(float)), 0) << "run " << run;
  }
}

// cuBLASLt's decode shapes (here 64 tokens) pick their algorithm by timing the candidates on their
// first call, which cannot happen while a graph records. A shape first met in a recording runs the
// heuristic's choice there; the call after it, outside the recording, tunes. Both replays of the
// recording and the tuned calls match the CPU, and repeats of the tuned choice give the same bits.
TEST_P(CudaLinear, TunesCublasOutsideGraphCaptureOnly) {
  TURBINE_REQUIRE_GPU();
  const DType dtype = GetParam();
  auto cpu = make_cpu();
  auto gpu = make_gpu(dtype);
  ASSERT_TRUE(gpu->can_capture());
  std::mt19937 rng(11);
  const int T = 64, K = 1024, N = 3000;
  const auto xv = random_values(rng, size_t(T) * K, dtype), wv = random_values(rng, size_t(N) * K, dtype, -0.1f, 0.1f);
  Tensor x = put(*gpu, xv, {T, K}, dtype), w = put(*gpu, wv, {N, K}, dtype);
  Tensor out = gpu->empty(DType::F32, {T, N});
  Tensor want = cpu->empty(DType::F32, {T, N});
  cpu->linear(put(*cpu, xv, {T, K}, DType::F32), put(*cpu, wv, {N, K}, DType::F32), nullptr, want);
  const auto expected = cpu->download_f32(want);
  auto graph = gpu->capture([&] { gpu->linear(x, w, nullptr, out); });
  ASSERT_TRUE(graph);
  graph->replay();
  TURBINE_EXPECT_CLOSE(gpu->download_f32(out), expected, 1e-4);
  gpu->linear(x, w, nullptr, out);
  const auto tuned = gpu->download_f32(out);
  TURBINE_EXPECT_CLOSE(tuned, expected, 1e-4);
  gpu->linear(x, w, nullptr, out);
  EXPECT_EQ(gpu->download_f32(out), tuned);
  graph->replay();
  TURBINE_EXPECT_CLOSE(gpu->download_f32(out), expected, 1e-4);
}

TEST_P(CudaLinear, RejectsMismatchedShapes) {
  TURBINE_REQUIRE_GPU();
  const DType dtype = GetParam();
  auto gpu = make_gpu(dtype);
  Tensor x = gpu->empty(dtype, {4, 16}), w = gpu->empty(dtype, {8, 15}), out = gpu->empty(dtype, {4, 8});
  EXPECT_THROW(gpu->linear(x, w, nullptr, out), Error);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaLinear, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
