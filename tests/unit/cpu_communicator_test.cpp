// The CPU ranks' communicator: sums in rank order whatever the thread timing, gathers columns of
// unequal widths, survives many rounds, and an aborted group stops every waiting rank.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "backend/communicator.h"
#include "core/error.h"

namespace turbine {
namespace {

Tensor host_f32(std::vector<float>& v, std::vector<int64_t> shape) {
  Tensor t;
  t.data = v.data();
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  return t;
}

// Runs body(rank) on one thread per rank and joins them.
void on_ranks(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back(body, r);
  for (auto& t : threads) t.join();
}

TEST(CpuCommunicator, RanksAndSizes) {
  auto comms = make_cpu_communicators(3);
  ASSERT_EQ(comms.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(comms[r]->rank(), r);
    EXPECT_EQ(comms[r]->size(), 3);
    EXPECT_EQ(comms[r]->device(), Device::Cpu);
  }
  EXPECT_THROW(make_cpu_communicators(0), Error);
}

TEST(CpuCommunicator, AllReduceSumsInRankOrder) {
  // 1e8 + 1 - 1e8 in fp32 is 0 in that order and 1 in others: the rank order must hold every round.
  for (int n : {2, 3, 4}) {
    auto comms = make_cpu_communicators(n);
    on_ranks(n, [&](int r) {
      for (int round = 0; round < 200; ++round) {
        std::vector<float> v(37);
        for (size_t i = 0; i < v.size(); ++i) v[i] = r == 0 ? 1e8f : (r == 1 ? 1.0f : (r == 2 ? -1e8f : float(i)));
        if (round % 7 == r) std::this_thread::yield();  // vary who arrives first
        Tensor t = host_f32(v, {37});
        comms[r]->all_reduce_sum(t);
        for (size_t i = 0; i < v.size(); ++i) {
          float want = 1e8f;
          want += 1.0f;
          if (n > 2) want += -1e8f;
          if (n > 3) want += float(i);
          ASSERT_EQ(v[i], want) << "n " << n << " rank " << r << " round " << round << " i " << i;
        }
      }
    });
  }
}

TEST(CpuCommunicator, AllReduceOfOneRankLeavesTheTensor) {
  auto comms = make_cpu_communicators(1);
  std::vector<float> v{1, 2, 3};
  Tensor t = host_f32(v, {3});
  comms[0]->all_reduce_sum(t);
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3}));
}

TEST(CpuCommunicator, AllGatherPutsColumnsInRankOrder) {
  const int n = 3, rows = 4;
  const std::vector<int64_t> widths{2, 5, 1};  // unequal, as a vocabulary that does not divide
  auto comms = make_cpu_communicators(n);
  on_ranks(n, [&](int r) {
    for (int round = 0; round < 100; ++round) {
      std::vector<float> part(size_t(rows * widths[r]));
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < widths[r]; ++j)
          part[size_t(i * widths[r] + j)] = float(round * 1000 + r * 100 + i * 10 + j);
      std::vector<float> whole(rows * 8, -1.0f);
      Tensor p = host_f32(part, {rows, widths[r]});
      Tensor w = host_f32(whole, {rows, 8});
      comms[r]->all_gather(p, w);
      for (int64_t i = 0; i < rows; ++i) {
        int64_t col = 0;
        for (int s = 0; s < n; ++s)
          for (int64_t j = 0; j < widths[s]; ++j, ++col)
            ASSERT_EQ(whole[size_t(i * 8 + col)], float(round * 1000 + s * 100 + i * 10 + j));
      }
    }
  });
}

TEST(CpuCommunicator, MismatchedShapesAreAnErrorOnEveryRank) {
  auto comms = make_cpu_communicators(2);
  std::atomic<int> errors{0};
  on_ranks(2, [&](int r) {
    std::vector<float> v(size_t(r + 1));
    Tensor t = host_f32(v, {r + 1});
    try {
      comms[r]->all_reduce_sum(t);
    } catch (const Error&) {
      ++errors;
    }
  });
  EXPECT_EQ(errors.load(), 2);
}

TEST(CpuCommunicator, AbortWakesWaitingRanks) {
  auto comms = make_cpu_communicators(3);
  std::atomic<int> errors{0};
  on_ranks(3, [&](int r) {
    if (r == 2) {
      comms[r]->abort();  // this rank failed before the collective
      return;
    }
    try {
      comms[r]->barrier();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another rank failed"), std::string::npos);
      ++errors;
    }
  });
  EXPECT_EQ(errors.load(), 2);
}

TEST(CpuCommunicator, RefusesNonFp32Tensors) {
  auto comms = make_cpu_communicators(1);
  std::vector<float> v(2);
  Tensor t = host_f32(v, {2});
  t.dtype = DType::BF16;
  EXPECT_THROW(comms[0]->all_reduce_sum(t), Error);
}

}  // namespace
}  // namespace turbine
