// norm_linear with a 4-bit weight where its projection runs on the wgmma GEMM's 64-token tiles (33+
// tokens, compute capability 9.0): the norm writes `normed` in B order (gemm/int4_b_order.h) and the
// tiles copy it with 16-byte cp.async (--int4-b-order, on by default). Against the same backend with
// the natural order: the same products in the same shared-memory places, so the outputs and the
// residual are bit for bit the same, and `normed` is the natural one with each 32-column half's 4 x 4
// words transposed. Shapes: one and several token tiles (a last tile of one token), K of 3 chunks and
// of 172 (down, eight K splits in a cluster), awkward N, groups of 64 and 128, with and without the
// residual's delta and bias; and K of 96 (not whole chunks), which keeps the natural order. The same for
// norm_mlp, where SwiGLU writes down's input in B order.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backend/cuda/gemm/int4_b_order.h"
#include "gpu_test_util.h"
#include "int4_test_util.h"

namespace turbine::test {
namespace {

class CudaInt4BOrder : public CpuVsGpu {
 protected:
  CudaInt4BOrder() : CpuVsGpu(23) {}
};

// The rows of `natural` ([rows, cols] values, cols a multiple of 64) in B order.
std::vector<float> in_b_order(const std::vector<float>& natural, int cols) {
  std::vector<float> out(natural.size());
  for (size_t row = 0; row < natural.size() / cols; ++row)
    for (int c = 0; c < cols; ++c) {
      const int word = cuda::int4_b_order_word(c / 2);
      out[row * cols + 2 * word + c % 2] = natural[row * cols + c];
    }
  return out;
}

bool hopper() {
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess && major == 9;
}

TEST_P(CudaInt4BOrder, NormLinearAgreesWithTheNaturalOrder) {
  struct Case {
    int T, K, N, group;
    bool delta, bias;
  };
  const Case cases[] = {{64, 4096, 1536, 128, true, true},
                        {33, 192, 300, 64, false, false},
                        {65, 11008, 4096, 128, true, false},
                        {130, 1024, 129, 64, true, true},
                        {40, 96, 50, 32, true, false}};
  CudaOptions b_order, natural;
  b_order.int4_b_order = true;
  natural.int4_b_order = false;
  auto with = make_gpu(dtype, b_order), without = make_gpu(dtype, natural);
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " group=" << c.group
                                    << " delta=" << c.delta << " bias=" << c.bias);
    const auto [m, h, d, g, b] = random_norm_linear_inputs(rng, c.T, c.K, c.N, c.group, dtype);
    auto run = [&](Backend& be) {
      ResidualStream res = residual_stream(be, h, c.T, c.K, dtype);
      Tensor delta = put(be, d, {c.T, c.K}, dtype), gw = put(be, g, {c.K}, dtype), bias = put(be, b, {c.N}, dtype);
      Tensor normed = be.empty(dtype, {c.T, c.K}), out = be.empty(dtype, {c.T, c.N});
      be.norm_linear(PreNorm{res, c.delta ? &delta : nullptr, gw, 1e-5f, normed}, LinearWeight(be.pack_int4(m)),
                     c.bias ? &bias : nullptr, out);
      return NormLinearResult{be.download_f32(out), be.download_f32(res.current), be.download_f32(normed)};
    };
    const NormLinearResult got = run(*with), want = run(*without);
    EXPECT_EQ(got.out, want.out);
    EXPECT_EQ(got.residual, want.residual);
    if (c.K % 64 == 0 && hopper())
      EXPECT_EQ(got.normed, in_b_order(want.normed, c.K)) << "the norm wrote B order";
    else
      EXPECT_EQ(got.normed, want.normed) << "K of partial chunks, or no wgmma: the natural order";
  }
}

// norm_mlp: SwiGLU writes down's input (`mlp`) in B order where down runs on the 64-token tiles, and
// the pre-norm gate_up's. Outputs and residual bit for bit the natural order's; `mlp` transposed.
TEST_P(CudaInt4BOrder, NormMlpAgreesWithTheNaturalOrder) {
  struct Case {
    int T, H, I, group;
    bool bias;
  };
  const Case cases[] = {{64, 512, 1024, 128, true}, {100, 256, 704, 64, false}, {40, 256, 96, 32, true}};
  CudaOptions b_order, natural;
  b_order.int4_b_order = true;
  natural.int4_b_order = false;
  auto with = make_gpu(dtype, b_order), without = make_gpu(dtype, natural);
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " H=" << c.H << " I=" << c.I << " group=" << c.group
                                    << " bias=" << c.bias);
    const HostInt4Matrix gu = random_int4(rng, 2 * c.I, c.H, c.group), dn = random_int4(rng, c.H, c.I, c.group);
    const auto h = random_values(rng, size_t(c.T) * c.H, dtype, -2, 2);
    const auto d = random_values(rng, size_t(c.T) * c.H, dtype);
    const auto g = random_values(rng, c.H, dtype, 0.5, 1.5);
    const auto b1 = random_values(rng, 2 * c.I, dtype), b2 = random_values(rng, c.H, dtype);
    struct Result {
      std::vector<float> out, residual, mlp;
    };
    auto run = [&](Backend& be) {
      ResidualStream res = residual_stream(be, h, c.T, c.H, dtype);
      Tensor delta = put(be, d, {c.T, c.H}, dtype), gw = put(be, g, {c.H}, dtype);
      Tensor gu_bias = put(be, b1, {2 * c.I}, dtype), dn_bias = put(be, b2, {c.H}, dtype);
      Tensor normed = be.empty(dtype, {c.T, c.H}), gate_up = be.empty(dtype, {c.T, 2 * c.I});
      Tensor mlp = be.empty(dtype, {c.T, c.I}), out = be.empty(dtype, {c.T, c.H});
      be.norm_mlp(PreNorm{res, &delta, gw, 1e-5f, normed}, LinearWeight(be.pack_int4(gu)), c.bias ? &gu_bias : nullptr,
                  LinearWeight(be.pack_int4(dn)), c.bias ? &dn_bias : nullptr, gate_up, mlp, out);
      return Result{be.download_f32(out), be.download_f32(res.current), be.download_f32(mlp)};
    };
    const Result got = run(*with), want = run(*without);
    EXPECT_EQ(got.out, want.out);
    EXPECT_EQ(got.residual, want.residual);
    if (c.I % 64 == 0 && hopper())
      EXPECT_EQ(got.mlp, in_b_order(want.mlp, c.I)) << "SwiGLU wrote B order";
    else
      EXPECT_EQ(got.mlp, want.mlp) << "I of partial chunks, or no wgmma: the natural order";
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaInt4BOrder, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
