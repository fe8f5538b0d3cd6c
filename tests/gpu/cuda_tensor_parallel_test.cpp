// kjv-llama on one GPU through the NCCL communicator (tp=1: the all-reduces and the vocabulary
// all-gather run, over one rank) against golden.json at the GPU's tolerance 0.5, and on two GPUs
// (tp=2) where the machine has them. The collectives alone: sums and an uneven all-gather against
// values computed here, and an abort that must stop every rank (a rank waiting in NCCL for one
// that failed would otherwise hang the run; a watchdog ends the binary if it does).
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "backend/communicator.h"
#include "backend/cuda/comm/nccl_communicator.h"
#include "e2e/e2e_util.h"
#include "gpu_test_util.h"

namespace turbine::test {
namespace {

constexpr double kMarginTol = 0.5;
constexpr int kBlockLen = 16;

// libnccl.so.2 is loaded at run time from the library path: its version, or why it is not there,
// before the tests that need it.
TEST(CudaTensorParallel, LoadsNccl) {
#ifndef TURBINE_WITH_NCCL
  GTEST_SKIP() << "this build has no NCCL";
#else
  TURBINE_REQUIRE_GPU();
  const int version = cuda::loaded_nccl_version();
  EXPECT_GE(version, 21000) << "bf16 collectives need NCCL 2.10";
  std::printf("libnccl %d.%d.%d\n", version / 10000, version / 100 % 100, version % 100);
#endif
}

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

// One CUDA backend and NCCL communicator per rank, up to `tp` ranks (fewer where the machine has
// fewer GPUs).
struct NcclRanks {
  explicit NcclRanks(int tp) {
    for (int r = 0; r < tp; ++r) {
      BackendOptions o;
      o.device = "cuda:" + std::to_string(r);
      o.dtype = DType::BF16;
      backends.push_back(make_backend(o));
    }
    std::vector<Backend*> raw;
    for (auto& b : backends) raw.push_back(b.get());
    comms = make_communicators(raw);
  }
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<Communicator>> comms;
};

// Runs fn(rank) on a thread per rank. A rank still running after `limit` means a collective hangs:
// the binary ends at once (a hung NCCL kernel cannot be stopped from here, and waiting would take
// the whole device call).
void run_ranks(int tp, const std::function<void(int)>& fn, std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::vector<std::future<void>> done;
  std::vector<std::thread> threads;
  for (int r = 0; r < tp; ++r) {
    std::packaged_task<void()> task([&fn, r] { fn(r); });
    done.push_back(task.get_future());
    threads.emplace_back(std::move(task));
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (auto& d : done)
    if (d.wait_until(deadline) != std::future_status::ready) {
      std::fprintf(stderr, "a rank still waits after %llds: the NCCL collectives hang\n", (long long)limit.count());
      std::fflush(stderr);
      std::_Exit(3);
    }
  for (auto& t : threads) t.join();
  for (auto& d : done) d.get();  // a rank's exception (gtest failures were recorded already)
}

int ranks_here(int want) { return std::min(want, cuda_device_count()); }

// all_reduce_sum in fp32 and bf16; all_gather of 7 columns (tp=2: 3 and 4, padded to 4 in NCCL).
TEST(CudaTensorParallel, CollectivesAddAndGather) {
#ifndef TURBINE_WITH_NCCL
  GTEST_SKIP() << "this build has no NCCL";
#endif
  TURBINE_REQUIRE_GPU();
  const int tp = ranks_here(2);
  NcclRanks g(tp);
  const int64_t rows = 3, n = 37, total = 7;
  run_ranks(tp, [&](int r) {
    Backend& b = *g.backends[size_t(r)];
    b.make_current();
    for (const DType dtype : {DType::F32, DType::BF16}) {
      std::vector<float> mine(size_t(rows * n)), want(mine.size(), 0.0f);
      for (size_t i = 0; i < mine.size(); ++i) {
        mine[i] = float(r + 1) * float(i % 11);  // small integers: exact in bf16 and in any order of the sum
        for (int q = 0; q < tp; ++q) want[i] += float(q + 1) * float(i % 11);
      }
      Tensor t = put(b, mine, {rows, n}, dtype);
      g.comms[size_t(r)]->all_reduce_sum(t);
      EXPECT_EQ(b.download_f32(t), want) << "rank " << r << " " << dtype_name(dtype);
    }
    const int64_t begin = total * r / tp, end = total * (r + 1) / tp;
    std::vector<float> part(size_t(rows * (end - begin))), whole(size_t(rows * total));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < total; ++c) {
        whole[size_t(i * total + c)] = float(100 * i + c);
        if (c >= begin && c < end) part[size_t(i * (end - begin) + c - begin)] = float(100 * i + c);
      }
    Tensor got = b.empty(DType::BF16, {rows, total});
    g.comms[size_t(r)]->all_gather(put(b, part, {rows, end - begin}, DType::BF16), got);
    EXPECT_EQ(b.download_f32(got), whole) << "rank " << r;
    g.comms[size_t(r)]->barrier();
  });
}

// Rank 0 fails after a first collective; the other rank is then inside a second all-reduce that
// rank 0 never joins. Rank 0's abort must stop the whole group: the other rank's wait ends and
// every later collective on any rank is an Error (tp=1: the rank's own later collectives).
TEST(CudaTensorParallel, AbortStopsEveryRank) {
#ifndef TURBINE_WITH_NCCL
  GTEST_SKIP() << "this build has no NCCL";
#endif
  TURBINE_REQUIRE_GPU();
  const int tp = ranks_here(2);
  NcclRanks g(tp);
  run_ranks(tp, [&](int r) {
    Backend& b = *g.backends[size_t(r)];
    b.make_current();
    Communicator& comm = *g.comms[size_t(r)];
    Tensor t = put(b, std::vector<float>(64, 1.0f), {64}, DType::F32);
    comm.all_reduce_sum(t);
    EXPECT_EQ(b.download_f32(t), std::vector<float>(64, float(tp)));
    if (r == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the other rank waits in its second collective
      comm.abort();
    } else {
      comm.all_reduce_sum(t);  // rank 0 never joins this one
      try {
        b.download_f32(t);  // returns once the abort stopped the collective's kernel
      } catch (const Error&) {
      }
    }
    EXPECT_THROW(comm.all_reduce_sum(t), Error) << "rank " << r;
    Tensor whole = b.empty(DType::F32, {1, tp});
    EXPECT_THROW(comm.all_gather(put(b, {1.0f}, {1, 1}, DType::F32), whole), Error) << "rank " << r;
    EXPECT_THROW(comm.barrier(), Error) << "rank " << r;
  });
}

}  // namespace
}  // namespace turbine::test
#endif  // TURBINE_WITH_CUDA
