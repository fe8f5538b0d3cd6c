// Every case of the op table (op_cases/op_cases.cpp) on every backend this machine has, against the
// cpu backend as the fp32 reference on the same inputs: cpu with another thread count must match
// bit for bit (the ops' results do not depend on how the work is split); cpu on each kernel
// instruction set, with fp32 or 16-bit weights, within fp32 rounding; cuda in bf16 and fp16
// within the dtype's tolerance (relative L2, and no element off by more than 8x that of the largest
// reference value). Without a GPU the cuda rows are reported as skipped, and so are the cpu rows of
// an instruction set this processor lacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <tuple>

#include "backend/cpu/cpu_kernel_table.h"
#include "op_cases.h"
#include "support/test_helpers.h"

namespace turbine::test {
namespace {

// dtype: the compute dtype on cuda; on cpu the type the weights are rounded to (and kept in, with
// CpuWeights::Checkpoint). isa: the cpu kernels' instruction set.
struct Target {
  const char* name;
  const char* device;
  DType dtype;
  int threads;
  CpuIsa isa = CpuIsa::Auto;
  CpuWeights weights = CpuWeights::F32;
};
constexpr Target kTargets[] = {{"cpu", "cpu", DType::F32, 3},
                               {"cpu_f32_avx512", "cpu", DType::F32, 3, CpuIsa::Avx512},
                               {"cpu_f32_avx2", "cpu", DType::F32, 3, CpuIsa::Avx2},
                               {"cpu_f32_scalar", "cpu", DType::F32, 3, CpuIsa::Scalar},
                               {"cpu_bf16w_avx512", "cpu", DType::BF16, 3, CpuIsa::Avx512, CpuWeights::Checkpoint},
                               {"cpu_bf16w_avx2", "cpu", DType::BF16, 3, CpuIsa::Avx2, CpuWeights::Checkpoint},
                               {"cpu_bf16w_scalar", "cpu", DType::BF16, 3, CpuIsa::Scalar, CpuWeights::Checkpoint},
                               {"cpu_f16w_avx512", "cpu", DType::F16, 3, CpuIsa::Avx512, CpuWeights::Checkpoint},
                               {"cpu_f16w_avx2", "cpu", DType::F16, 3, CpuIsa::Avx2, CpuWeights::Checkpoint},
                               {"cpu_f16w_scalar", "cpu", DType::F16, 3, CpuIsa::Scalar, CpuWeights::Checkpoint},
                               {"cuda_bf16", "cuda", DType::BF16, 0},
                               {"cuda_f16", "cuda", DType::F16, 0}};

// The plain cpu target must match the reference bit for bit (only the thread count differs). Other
// cpu targets multiply the same values in another order (another instruction set's kernels, 16-bit
// weights widened in registers): fp32 rounding apart.
double tolerance(const Target& t) {
  if (std::string(t.device) == "cpu") return t.isa == CpuIsa::Auto && t.weights == CpuWeights::F32 ? 0.0 : 1e-5;
  return t.dtype == DType::BF16 ? 1.2e-2 : t.dtype == DType::F16 ? 2e-3 : 0.0;
}

std::unique_ptr<Backend> make(const Target& t) {
  BackendOptions o;
  o.device = t.device;
  o.dtype = t.dtype;
  o.threads = t.threads;
  o.cpu.isa = t.isa;
  o.cpu.weights = t.weights;
  return make_backend(o);
}

class BackendOps : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(BackendOps, MatchesTheCpuReference) {
  const Target& target = kTargets[std::get<0>(GetParam())];
  const OpCase c = op_test_cases().at(size_t(std::get<1>(GetParam())));
  SCOPED_TRACE(c.name());
  if (std::string(target.device) != "cpu" && !cuda_available()) GTEST_SKIP() << "no CUDA GPU on this machine";
  if (std::string(target.device) == "cpu" && !cpu::cpu_has_isa(target.isa))
    GTEST_SKIP() << "this processor has no " << cpu_isa_name(target.isa);
  auto backend = make(target);
  auto reference = make(Target{"reference", "cpu", DType::F32, 1});
  const uint32_t seed = 1234u + uint32_t(std::get<1>(GetParam()));
  PreparedOp got = prepare_op(*backend, c, seed, target.dtype);
  PreparedOp want = prepare_op(*reference, c, seed, target.dtype);
  got.run();
  want.run();
  const std::vector<float> g = got.outputs(), w = want.outputs();
  ASSERT_EQ(g.size(), w.size());
  ASSERT_FALSE(w.empty());
  const double tol = tolerance(target);
  if (tol == 0 || c.op == Op::ArgmaxRows) {  // argmax reads fp32 logits on every backend: exact
    EXPECT_EQ(g, w);
    return;
  }
  expect_close_to_reference(g, w, tol);
}

INSTANTIATE_TEST_SUITE_P(Table, BackendOps,
                         ::testing::Combine(::testing::Range(0, int(std::size(kTargets))),
                                            ::testing::Range(0, int(op_test_cases().size()))),
                         [](const auto& info) {
                           return std::string(kTargets[std::get<0>(info.param)].name) + "_case" +
                                  std::to_string(std::get<1>(info.param));
                         });

// The table's names are unique, so that a failure's trace names one case.
TEST(BackendOpsTable, CaseNamesAreUnique) {
  std::vector<std::string> names;
  for (const auto& c : op_test_cases()) names.push_back(c.name());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace turbine::test
