// cuBLASLt GEMM (linear) against the CPU reference: awkward shapes, bias, fp32 output for logits.
#include <gtest/gtest.h>

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
  // T <= 2 with K % 8 == 0 runs the skinny GEMM; the rest cuBLASLt. The skinny cases cover both
  // token instances (1, 2), N not a multiple of the block's 4 or 2 rows, K shorter than one step of
  // the block's threads (72) and several steps with a ragged end (11008, 5000).
  const LinearCase cases[] = {{1, 256, 768, false, dtype},  {3, 200, 131, true, dtype},
                              {17, 512, 1000, false, DType::F32}, {64, 264, 520, true, DType::F32},
                              {129, 1024, 96, false, dtype}, {8, 264, 77, true, DType::F32},
                              {5, 4096, 1037, false, dtype},      {2, 8, 3, false, dtype},
                              {1, 72, 1001, false, dtype},        {2, 72, 1001, false, DType::F32},
                              {4, 11008, 130, false, dtype},      {7, 5000, 33, true, dtype},
                              {9, 72, 1001, false, dtype},        {12, 4096, 257, false, DType::F32},
                              {16, 11008, 61, true, dtype},       {16, 5000, 1002, false, DType::F32},
                              {1, 4096, 2, false, DType::F32},   {2, 11008, 130, false, dtype},
                              {1, 5000, 33, true, dtype}};
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
