// kjv-llama on one GPU through the NCCL communicator (tp=1: the all-reduces, the vocabulary
// all-gather and the abort path run, over one rank) against golden.json at the GPU's tolerance
// 0.5, and on two GPUs (tp=2) where the machine has them.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include "e2e/e2e_util.h"
#include "gpu_test_util.h"

namespace turbine::test {
namespace {

constexpr double kMarginTol = 0.5;
constexpr int kBlockLen = 16;

std::unique_ptr<LoadedModel> load_gpu_ranks(int tp) {
  const auto dir = default_model_dir();
  auto m = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr});
  std::vector<std::unique_ptr<Backend>> backends;
  for (int r = 0; r < tp; ++r) {
    BackendOptions o;
    o.device = "cuda:" + std::to_string(r);
    o.dtype = m->config.dtype;
    backends.push_back(make_backend(o));
  }
  const LoadedModel& l = *m;
  m->model = load_tensor_parallel_model(
      m->config, [&](const ShardLayout& s) { return std::make_unique<CheckpointShard>(l.checkpoint, l.config, s); },
      backends, true);
  m->backend = std::move(backends[0]);
  return m;
}

void check_goldens(int tp) {
#ifndef TURBINE_WITH_NCCL
  GTEST_SKIP() << "this build has no NCCL";
#endif
  TURBINE_REQUIRE_GPU();
  if (cuda_device_count() < tp) GTEST_SKIP() << "fewer than " << tp << " GPUs";
  if (!std::filesystem::exists(default_model_dir() / "model.safetensors")) GTEST_SKIP() << "no kjv-llama";
  auto m = load_gpu_ranks(tp);
  ASSERT_EQ(m->model->tensor_parallel(), tp);
  const auto& cases = golden().at("kjv-llama");
  const auto batched = batched_greedy(*m, cases, kBlockLen);
  expect_greedy_margin_rule(cases, batched, kMarginTol);
  const auto alone = greedy_each_alone(*m->model, cases, kBlockLen);
  expect_greedy_margin_rule(cases, alone, kMarginTol);
}

TEST(CudaTensorParallel, OneRankThroughNcclMatchesTheGoldens) { check_goldens(1); }
TEST(CudaTensorParallel, TwoRanksMatchTheGoldens) { check_goldens(2); }

}  // namespace
}  // namespace turbine::test
#endif  // TURBINE_WITH_CUDA
