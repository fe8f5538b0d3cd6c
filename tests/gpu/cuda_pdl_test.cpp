// Programmatic dependent launch: a kernel launched with it may start while the kernel before it in the
// stream still runs, and must read what that kernel writes only after its pdl_wait(). A producer that
// lets its dependents start at once and writes the input 300 us later (late_writer.cu) stands before
// each op; an op that reads its input early sees the NaNs the input held before. (The 4-bit GEMV once
// did: the compiler hoisted an __ldg of the activations above the wait, and only a model's chunked
// prefill showed it.) Each result must equal, bit for bit, the same op on an input written long before.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "backend/cuda/cuda_backend.h"
#include "gpu_test_util.h"
#include "late_writer.h"
#include "support/test_helpers.h"

namespace turbine::test {
namespace {

constexpr unsigned kDelayUs = 300;

// op(x) on an input written long before, then on the same values written late over NaNs.
void expect_waits(Backend& gpu, DType dtype, std::vector<int64_t> shape,
                  const std::function<Tensor(const Tensor&)>& op) {
  std::mt19937 rng(7);
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  const Tensor good = put(gpu, random_values(rng, n, dtype), shape, dtype);
  const std::vector<float> want = gpu.download_f32(op(good));
  Tensor late = put(gpu, std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()), shape, dtype);
  gpu.synchronize();
  launch_late_copy(dynamic_cast<cuda::CudaBackend&>(gpu).stream(), good.data, late.data, n * dtype_size(dtype),
                   kDelayUs);
  const std::vector<float> got = gpu.download_f32(op(late));
  ASSERT_EQ(got.size(), want.size());
  size_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i) differ += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
  EXPECT_EQ(differ, 0u) << "of " << got.size() << " outputs differ from the op on an input written before";
}

class CudaPdl : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { TURBINE_REQUIRE_GPU(); }
};

TEST_P(CudaPdl, LinearsReadTheirInputsAfterTheWait) {
  const DType dtype = GetParam();
  CudaOptions untiled, tiled;  // int4_gemm.cu, or the tiled GEMM, for every 4-bit linear past the GEMV
  untiled.int4_tiled_gemm = false;
  tiled.int4_tiled_gemm = true;
  tiled.int4_tiled_min_tokens = 9;
  tiled.int4_tiled_max_tokens = kInt4TiledTokensLimit;
  for (const CudaOptions& options : {untiled, tiled}) {
    auto gpu = make_gpu(dtype, options);
    const int K = 4096, N = 1024;
    std::mt19937 rng(3);
    const Tensor dense = put(*gpu, random_values(rng, size_t(N) * K, dtype), {N, K}, dtype);
    const Int4Weight four = gpu->pack_int4(random_int4_matrix(N, K, 128, 11));
    // 16-bit: the skinny GEMM's token counts and the GEMMs past them; 4-bit: the GEMV's one and two
    // token tiles, then int4_gemm.cu (or the tiled GEMM).
    for (int T : {1, 4, 8, 16, 64}) {
      SCOPED_TRACE(testing::Message() << "16-bit, T=" << T << " tiled=" << options.int4_tiled_gemm);
      expect_waits(*gpu, dtype, {T, K}, [&](const Tensor& x) {
        Tensor out = gpu->empty(dtype, {T, N});
        gpu->linear(x, LinearWeight(dense), nullptr, out);
        return out;
      });
    }
    for (int T : {1, 5, 12, 16, 24, 64}) {
      SCOPED_TRACE(testing::Message() << "4-bit, T=" << T << " tiled=" << options.int4_tiled_gemm);
      expect_waits(*gpu, dtype, {T, K}, [&](const Tensor& x) {
        Tensor out = gpu->empty(dtype, {T, N});
        gpu->linear(x, LinearWeight(four), nullptr, out);
        return out;
      });
    }
  }
}

TEST_P(CudaPdl, NormReadsItsInputAfterTheWait) {
  const DType dtype = GetParam();
  auto gpu = make_gpu(dtype);
  std::mt19937 rng(5);
  const int T = 8, K = 4096;
  const Tensor weight = put(*gpu, random_values(rng, K, dtype, 0.5f, 1.5f), {K}, dtype);
  expect_waits(*gpu, dtype, {T, K}, [&](const Tensor& x) {
    Tensor out = gpu->empty(dtype, {T, K});
    gpu->rms_norm(x, weight, 1e-5f, out);
    return out;
  });
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaPdl, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return info.param == DType::F16 ? "fp16" : "bf16"; });

}  // namespace
}  // namespace turbine::test
#endif  // TURBINE_WITH_CUDA
