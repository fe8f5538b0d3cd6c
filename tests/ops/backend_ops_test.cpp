// Every case of the op table (op_cases/op_cases.cpp) on every backend this machine has, against the
// cpu backend as the fp32 reference on the same inputs: cpu with another thread count must match
// bit for bit (the ops' results do not depend on how the work is split); cuda in bf16 and fp16
// within the dtype's tolerance (relative L2, and no element off by more than 8x that of the largest
// reference value). Without a GPU the cuda rows are reported as skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <tuple>

#include "op_cases.h"

namespace turbine::test {
namespace {

struct Target {
  const char* name;
  const char* device;
  DType dtype;
  int threads;
};
constexpr Target kTargets[] = {{"cpu", "cpu", DType::F32, 3},
                               {"cuda_bf16", "cuda", DType::BF16, 0},
                               {"cuda_f16", "cuda", DType::F16, 0}};

double tolerance(DType dtype) { return dtype == DType::BF16 ? 1.2e-2 : dtype == DType::F16 ? 2e-3 : 0.0; }

std::unique_ptr<Backend> make(const char* device, DType dtype, int threads) {
  BackendOptions o;
  o.device = device;
  o.dtype = dtype;
  o.threads = threads;
  return make_backend(o);
}

class BackendOps : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(BackendOps, MatchesTheCpuReference) {
  const Target& target = kTargets[std::get<0>(GetParam())];
  const OpCase c = op_test_cases().at(size_t(std::get<1>(GetParam())));
  SCOPED_TRACE(c.name());
  if (std::string(target.device) != "cpu" && !cuda_available()) GTEST_SKIP() << "no CUDA GPU on this machine";
  auto backend = make(target.device, target.dtype, target.threads);
  auto reference = make("cpu", DType::F32, 1);
  const uint32_t seed = 1234u + uint32_t(std::get<1>(GetParam()));
  PreparedOp got = prepare_op(*backend, c, seed, target.dtype);
  PreparedOp want = prepare_op(*reference, c, seed, target.dtype);
  got.run();
  want.run();
  const std::vector<float> g = got.outputs(), w = want.outputs();
  ASSERT_EQ(g.size(), w.size());
  ASSERT_FALSE(w.empty());
  const double tol = tolerance(target.dtype);
  if (tol == 0 || c.op == Op::ArgmaxRows) {  // argmax reads fp32 logits on every backend: exact
    EXPECT_EQ(g, w);
    return;
  }
  double num = 0, den = 0, max_abs = 0, ref_max = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << "output " << i;
    const double d = double(g[i]) - w[i];
    num += d * d;
    den += double(w[i]) * w[i];
    max_abs = std::max(max_abs, std::abs(d));
    ref_max = std::max(ref_max, std::abs(double(w[i])));
  }
  EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), tol) << "relative L2 error";
  EXPECT_LT(max_abs, 8 * tol * std::max(ref_max, 1e-6)) << "largest element error";
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
