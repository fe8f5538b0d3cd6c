// The row-wise CPU ops (embedding, RMSNorm, fused add + RMSNorm, silu_mul, gather_rows) and the
// backend's memory functions against simple references.
#include <gtest/gtest.h>

#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

TEST(CpuOps, EmbeddingCopiesRowsAndRejectsBadIds) {
  auto be = make_cpu();
  std::mt19937 rng(1);
  const int64_t V = 11, H = 19;
  const Vec table = random_vec(rng, V * H);
  Tensor tt = upload_vec(*be, table, {V, H});
  const std::vector<int32_t> ids = {3, 0, 10, 3};
  Tensor tid = be->upload(ids.data(), DType::I32, {4}, DType::I32);
  Tensor out = be->empty(DType::F32, {4, H});
  be->embedding(tt, tid, out);
  const auto got = be->download_f32(out);
  for (size_t t = 0; t < ids.size(); ++t)
    for (int64_t h = 0; h < H; ++h) EXPECT_EQ(got[t * H + h], float(table[ids[t] * H + h]));
  const std::vector<int32_t> bad = {1, 11};
  Tensor tbad = be->upload(bad.data(), DType::I32, {2}, DType::I32);
  Tensor out2 = be->empty(DType::F32, {2, H});
  EXPECT_THROW(be->embedding(tt, tbad, out2), Error);
}

TEST(CpuOps, RmsNormMatchesReference) {
  auto be = make_cpu();
  std::mt19937 rng(2);
  for (int64_t C : {1, 7, 64, 257}) {
    const int64_t R = 13;
    const Vec x = random_vec(rng, R * C, -3, 3), w = random_vec(rng, C);
    Tensor tx = upload_vec(*be, x, {R, C}), tw = upload_vec(*be, w, {C});
    Tensor out = be->empty(DType::F32, {R, C});
    be->rms_norm(tx, tw, 1e-5f, out);
    EXPECT_LE(tolerance_ratio(be->download_f32(out), ref_rms_norm(x, w, 1e-5, R, C), 1e-6, 1e-5), 1.0) << C;
  }
}

TEST(CpuOps, AddRmsNormUpdatesResidual) {
  auto be = make_cpu();
  std::mt19937 rng(3);
  const int64_t R = 5, C = 99;
  const Vec res = random_vec(rng, R * C), x = random_vec(rng, R * C), w = random_vec(rng, C);
  Tensor tres = upload_vec(*be, res, {R, C}), tx = upload_vec(*be, x, {R, C}), tw = upload_vec(*be, w, {C});
  Tensor out = be->empty(DType::F32, {R, C});
  be->add_rms_norm(tres, tx, tw, 1e-6f, out);
  Vec sum(res.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = res[i] + x[i];
  EXPECT_LE(tolerance_ratio(be->download_f32(tres), sum, 1e-7, 1e-6), 1.0);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), ref_rms_norm(sum, w, 1e-6, R, C), 1e-6, 1e-5), 1.0);
}

TEST(CpuOps, SiluMulMatchesReference) {
  auto be = make_cpu();
  std::mt19937 rng(4);
  const int64_t T = 9, I = 77;
  const Vec gu = random_vec(rng, T * 2 * I, -6, 6);
  Tensor tgu = upload_vec(*be, gu, {T, 2 * I});
  Tensor out = be->empty(DType::F32, {T, I});
  be->silu_mul(tgu, out);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), ref_silu_mul(gu, T, I), 1e-6, 1e-5), 1.0);
}

TEST(CpuOps, GatherRows) {
  auto be = make_cpu();
  std::mt19937 rng(5);
  const Vec x = random_vec(rng, 6 * 5);
  Tensor tx = upload_vec(*be, x, {6, 5});
  const std::vector<int32_t> rows = {5, 0, 2};
  Tensor tr = be->upload(rows.data(), DType::I32, {3}, DType::I32);
  Tensor out = be->empty(DType::F32, {3, 5});
  be->gather_rows(tx, tr, out);
  const auto got = be->download_f32(out);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(got[r * 5 + c], float(x[rows[r] * 5 + c]));
  const std::vector<int32_t> bad = {6};
  Tensor tbad = be->upload(bad.data(), DType::I32, {1}, DType::I32);
  Tensor out1 = be->empty(DType::F32, {1, 5});
  EXPECT_THROW(be->gather_rows(tx, tbad, out1), Error);
}

TEST(CpuBackendMemory, UploadConvertsHalfTypesToF32) {
  auto be = make_cpu();
  const std::vector<float> values = {1.0f, -2.5f, 3.14159f, 1e-3f, 65504.0f};
  std::vector<uint16_t> bf(values.size()), hf(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    bf[i] = f32_to_bf16(values[i]);
    hf[i] = f32_to_f16(values[i]);
  }
  Tensor tb = be->upload(bf.data(), DType::BF16, {5}, be->compute_dtype());
  Tensor th = be->upload(hf.data(), DType::F16, {5}, be->compute_dtype());
  EXPECT_EQ(tb.dtype, DType::F32);
  const auto gb = be->download_f32(tb), gh = be->download_f32(th);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(gb[i], bf16_to_f32(bf[i]));
    EXPECT_EQ(gh[i], f16_to_f32(hf[i]));
  }
}

TEST(CpuBackendMemory, KvCacheCountsAgainstTheBudget) {
  auto be = make_cpu(1, size_t(1) << 20);
  EXPECT_EQ(be->free_memory(), size_t(1) << 20);
  EXPECT_EQ(be->used_memory(), 0u);
  KvCacheSpec spec{2, 4, 16, 2, 8, DType::F32};  // 2*4*2*2*16*8*4 = 16 KiB
  {
    KvCache cache = be->allocate_kv_cache(spec);
    EXPECT_EQ(be->free_memory(), (size_t(1) << 20) - spec.bytes());
    EXPECT_EQ(be->used_memory(), spec.bytes());
    spec.num_blocks = 1000;  // 4 MiB: over budget
    EXPECT_THROW(be->allocate_kv_cache(spec), Error);
  }
  EXPECT_EQ(be->free_memory(), size_t(1) << 20);
  EXPECT_EQ(be->used_memory(), 0u);
  KvCacheSpec half = {1, 1, 16, 1, 8, DType::F16};
  EXPECT_THROW(be->allocate_kv_cache(half), Error);
}

TEST(BackendFactory, CpuAndErrors) {
  BackendOptions o;
  o.threads = 1;
  auto be = make_backend(o);
  EXPECT_EQ(be->name(), "cpu");
  EXPECT_EQ(be->compute_dtype(), DType::F32);
  o.device = "tpu";
  EXPECT_THROW(make_backend(o), Error);
#ifndef TURBINE_WITH_CUDA
  o.device = "cuda:0";
  EXPECT_THROW(make_backend(o), Error);
  EXPECT_FALSE(cuda_available());
#endif
}

}  // namespace
}  // namespace turbine::test
