// CUDA memory and element-wise ops against the CPU reference backend.
#include <gtest/gtest.h>

#include "gpu_test_util.h"

namespace turbine::test {
namespace {

class CudaElementwise : public CpuVsGpu {
 protected:
  CudaElementwise() : CpuVsGpu(1234) {}
};

// Runs where CI runs (no GPU): asking for cuda is a clear error, not a crash.
TEST(CudaFactory, WithoutGpuCudaIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  BackendOptions o;
  o.device = "cuda";
  o.dtype = DType::BF16;
  try {
    make_backend(o);
    FAIL() << "make_backend(cuda) succeeded without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
}

TEST(CudaFactory, RejectsBadDevicesAndDtypes) {
  TURBINE_REQUIRE_GPU();
  BackendOptions o;
  o.device = "cuda:abc";
  o.dtype = DType::BF16;
  EXPECT_THROW(make_backend(o), Error);
  o.device = "cuda:999";
  EXPECT_THROW(make_backend(o), Error);
  o.device = "cuda:0";
  o.dtype = DType::F32;
  EXPECT_THROW(make_backend(o), Error);
  o.dtype = DType::F16;
  auto b = make_backend(o);
  EXPECT_EQ(b->device(), Device::Cuda);
  EXPECT_EQ(b->compute_dtype(), DType::F16);
  EXPECT_GT(b->free_memory(), size_t(1) << 28);
}

TEST_P(CudaElementwise, UploadDownloadRoundTripConverts) {
  const auto v = random_values(rng, 1003, dtype, -50, 50);
  // fp32 source converted on the GPU, and a source already in the compute dtype copied raw.
  EXPECT_EQ(gpu->download_f32(put(*gpu, v, {17, 59}, dtype)), v);
  std::vector<uint16_t> half(v.size());
  convert_from_f32(v.data(), dtype, half.data(), v.size());
  EXPECT_EQ(gpu->download_f32(gpu->upload(half.data(), dtype, {1003}, dtype)), v);
  EXPECT_EQ(gpu->download_f32(gpu->upload(half.data(), dtype, {1003}, DType::F32)), v);
  // Larger than one staging buffer (32 MiB) to cover the sliced path.
  std::vector<float> big(size_t(9) << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = float(int(i % 255) - 127) / 4.0f;  // exact in bf16
  EXPECT_EQ(gpu->download_f32(put(*gpu, big, {int64_t(big.size())}, dtype)), big);
  std::vector<int32_t> ids = {5, -3, 1 << 30, 0, 77};
  auto back = gpu->download_f32(put_ids(*gpu, ids));
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(back[i], float(ids[i]));
}

TEST_P(CudaElementwise, EmbeddingMatchesCpu) {
  const int V = 1001, H = 77;  // H * 2 bytes is not a 16-byte multiple: the narrow copy path
  for (int hidden : {H, 128}) {
    const auto table = random_values(rng, size_t(V) * hidden, dtype);
    std::vector<int32_t> ids = {0, 1000, 5, 5, 999, 123, 7};
    Tensor gout = gpu->empty(dtype, {int64_t(ids.size()), hidden});
    gpu->embedding(put(*gpu, table, {V, hidden}, dtype), put_ids(*gpu, ids), gout);
    Tensor cout = cpu->empty(DType::F32, {int64_t(ids.size()), hidden});
    cpu->embedding(put(*cpu, table, {V, hidden}, DType::F32), put_ids(*cpu, ids), cout);
    EXPECT_EQ(gpu->download_f32(gout), cpu->download_f32(cout));  // a copy: exact
  }
}

TEST_P(CudaElementwise, RmsNormMatchesCpu) {
  // 256, 4096, 5128: 16-byte path (5128 leaves threads with fewer chunks); 13, 4099: scalar path;
  // 40000: too wide for the registers, scalar path.
  for (int cols : {13, 256, 4099, 4096, 5128, 40000}) {
    const int rows = 11;
    const auto x = random_values(rng, size_t(rows) * cols, dtype, -3, 3);
    const auto w = random_values(rng, cols, dtype, 0.5, 1.5);
    Tensor gout = gpu->empty(dtype, {rows, cols});
    gpu->rms_norm(put(*gpu, x, {rows, cols}, dtype), put(*gpu, w, {cols}, dtype), 1e-5f, gout);
    Tensor cout = cpu->empty(DType::F32, {rows, cols});
    cpu->rms_norm(put(*cpu, x, {rows, cols}, DType::F32), put(*cpu, w, {cols}, DType::F32), 1e-5f, cout);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gout), cpu->download_f32(cout), relative_tolerance(dtype));
  }
}

TEST_P(CudaElementwise, AddRmsNormMatchesCpu) {
  for (int cols : {333, 8, 4096, 1000}) {
    SCOPED_TRACE(cols);
    const int rows = 9;
    const auto r = random_values(rng, size_t(rows) * cols, dtype, -2, 2);
    const auto x = random_values(rng, size_t(rows) * cols, dtype, -2, 2);
    const auto w = random_values(rng, cols, dtype, 0.5, 1.5);
    Tensor gres = put(*gpu, r, {rows, cols}, dtype), gout = gpu->empty(dtype, {rows, cols});
    gpu->add_rms_norm(gres, put(*gpu, x, {rows, cols}, dtype), put(*gpu, w, {cols}, dtype), 1e-6f, gout);
    Tensor cres = put(*cpu, r, {rows, cols}, DType::F32), cout = cpu->empty(DType::F32, {rows, cols});
    cpu->add_rms_norm(cres, put(*cpu, x, {rows, cols}, DType::F32), put(*cpu, w, {cols}, DType::F32), 1e-6f, cout);
    const double tol = relative_tolerance(dtype);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gres), cpu->download_f32(cres), tol);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gout), cpu->download_f32(cout), tol);
  }
}

TEST_P(CudaElementwise, SiluMulMatchesCpu) {
  // 1003: scalar path; 1000 and 11008: eight per thread.
  for (int I : {1003, 1000, 11008}) {
    SCOPED_TRACE(I);
    const int T = 7;
    const auto gu = random_values(rng, size_t(T) * 2 * I, dtype, -6, 6);
    Tensor gout = gpu->empty(dtype, {T, I});
    gpu->silu_mul(put(*gpu, gu, {T, 2 * I}, dtype), gout);
    Tensor cout = cpu->empty(DType::F32, {T, I});
    cpu->silu_mul(put(*cpu, gu, {T, 2 * I}, DType::F32), cout);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(gout), cpu->download_f32(cout), relative_tolerance(dtype));
  }
}

TEST_P(CudaElementwise, GatherRowsMatchesCpuInEveryDtype) {
  const int T = 37, C = 321;
  const auto x = random_values(rng, size_t(T) * C, dtype);
  const std::vector<int32_t> rows = {36, 0, 5, 5, 20};
  for (DType dt : {dtype, DType::F32}) {
    Tensor gout = gpu->empty(dt, {int64_t(rows.size()), C});
    gpu->gather_rows(put(*gpu, x, {T, C}, dt), put_ids(*gpu, rows), gout);
    Tensor cout = cpu->empty(DType::F32, {int64_t(rows.size()), C});
    cpu->gather_rows(put(*cpu, x, {T, C}, DType::F32), put_ids(*cpu, rows), cout);
    EXPECT_EQ(gpu->download_f32(gout), cpu->download_f32(cout));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaElementwise, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
