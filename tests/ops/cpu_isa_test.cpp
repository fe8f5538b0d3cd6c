// The CPU backend's choice of kernels and weight storage: --cpu-isa picks a kernel table the
// processor has (auto: the widest) and refuses one it lacks; --cpu-weights decides the type matrix
// weights are kept in. (Every op on every instruction set is in backend_ops_test.)
#include <gtest/gtest.h>

#include "backend/cpu/cpu_kernel_table.h"
#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

std::unique_ptr<CpuBackend> make_cpu_with(CpuIsa isa, CpuWeights weights = CpuWeights::Checkpoint) {
  BackendOptions o;
  o.threads = 1;
  o.cpu.isa = isa;
  o.cpu.weights = weights;
  return std::make_unique<CpuBackend>(o);
}

TEST(CpuIsa, AutoTakesTheWidestTheProcessorHas) {
  const CpuIsa best = cpu::best_cpu_isa();
  EXPECT_NE(best, CpuIsa::Auto);
  EXPECT_TRUE(cpu::cpu_has_isa(best));
  EXPECT_EQ(make_cpu_with(CpuIsa::Auto)->isa(), best);
  if (cpu::cpu_has_isa(CpuIsa::Avx512) && cpu::avx512_kernels())
    EXPECT_EQ(best, CpuIsa::Avx512);
  else if (cpu::cpu_has_isa(CpuIsa::Avx2) && cpu::avx2_kernels())
    EXPECT_EQ(best, CpuIsa::Avx2);
  else
    EXPECT_EQ(best, CpuIsa::Scalar);
}

TEST(CpuIsa, ScalarRunsEverywhere) { EXPECT_EQ(make_cpu_with(CpuIsa::Scalar)->isa(), CpuIsa::Scalar); }

TEST(CpuIsa, AForcedSetIsUsedOrRefusedWithTheFlagNamed) {
  for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512}) {
    SCOPED_TRACE(cpu_isa_name(isa));
    if (cpu::cpu_has_isa(isa)) {
      EXPECT_EQ(make_cpu_with(isa)->isa(), isa);
      continue;
    }
    try {
      make_cpu_with(isa);
      ADD_FAILURE() << "no error for an instruction set this processor lacks";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--cpu-isa"), std::string::npos) << e.what();
    }
  }
}

TEST(CpuIsa, ParsesTheFlagsValues) {
  EXPECT_EQ(parse_cpu_isa("auto", "--cpu-isa"), CpuIsa::Auto);
  EXPECT_EQ(parse_cpu_isa("avx512", "--cpu-isa"), CpuIsa::Avx512);
  EXPECT_EQ(parse_cpu_isa("avx2", "--cpu-isa"), CpuIsa::Avx2);
  EXPECT_EQ(parse_cpu_isa("scalar", "--cpu-isa"), CpuIsa::Scalar);
  EXPECT_THROW(parse_cpu_isa("sse9", "--cpu-isa"), Error);
  EXPECT_EQ(parse_cpu_weights("checkpoint", "--cpu-weights"), CpuWeights::Checkpoint);
  EXPECT_EQ(parse_cpu_weights("f32", "--cpu-weights"), CpuWeights::F32);
  EXPECT_THROW(parse_cpu_weights("int4", "--cpu-weights"), Error);
}

TEST(CpuWeightStorage, CheckpointKeepsSixteenBitWeightsAndF32ConvertsThem) {
  auto keep = make_cpu_with(CpuIsa::Auto, CpuWeights::Checkpoint);
  EXPECT_EQ(keep->weight_dtype(DType::BF16), DType::BF16);
  EXPECT_EQ(keep->weight_dtype(DType::F16), DType::F16);
  EXPECT_EQ(keep->weight_dtype(DType::F32), DType::F32);
  auto reference = make_cpu_with(CpuIsa::Auto, CpuWeights::F32);
  for (DType d : {DType::BF16, DType::F16, DType::F32}) EXPECT_EQ(reference->weight_dtype(d), DType::F32);
}

// A 16-bit weight the backend does not keep (fp16 on a backend that keeps only fp32) is refused by
// the op's check, naming the weight.
TEST(CpuWeightStorage, LinearRefusesAWeightTypeTheBackendDoesNotKeep) {
  auto reference = make_cpu_with(CpuIsa::Auto, CpuWeights::F32);
  Tensor x = reference->empty(DType::F32, {2, 8}), w = reference->empty(DType::BF16, {4, 8});
  Tensor out = reference->empty(DType::F32, {2, 4});
  try {
    reference->linear(x, w, nullptr, out);
    ADD_FAILURE() << "no error for a bf16 weight on an fp32-weight backend";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight"), std::string::npos) << e.what();
  }
  auto keep = make_cpu_with(CpuIsa::Auto, CpuWeights::Checkpoint);
  Tensor x2 = keep->empty(DType::F32, {2, 8}), w2 = keep->empty(DType::I32, {4, 8});
  Tensor out2 = keep->empty(DType::F32, {2, 4});
  EXPECT_THROW(keep->linear(x2, w2, nullptr, out2), Error);
}

// The embedding lookup widens rows of a 16-bit table exactly.
TEST(CpuWeightStorage, EmbeddingWidensSixteenBitRows) {
  auto be = make_cpu_with(CpuIsa::Auto);
  for (DType d : {DType::BF16, DType::F16}) {
    const std::vector<float> table = {0.5f, -1.25f, 3.0f, 0.0f, 2.5f, -0.75f};  // exact in both types
    Tensor t = be->upload(table.data(), DType::F32, {3, 2}, d);
    const std::vector<int32_t> ids = {2, 0};
    Tensor ti = be->upload(ids.data(), DType::I32, {2}, DType::I32);
    Tensor out = be->empty(DType::F32, {2, 2});
    be->embedding(t, ti, out);
    EXPECT_EQ(be->download_f32(out), (std::vector<float>{2.5f, -0.75f, 0.5f, -1.25f}));
  }
}

}  // namespace
}  // namespace turbine::test
