// ThreadPool: every index of [0, n) is visited exactly once whatever the thread count, grain and
// timing, both when the workers are still spinning from the previous loop (back-to-back loops) and
// when they have gone to sleep (a pause longer than the spin between loops).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace turbine {
namespace {

// Runs parallel_for over [0, n) and checks each index was visited once.
void expect_each_index_once(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        ASSERT_LE(0, b);
        ASSERT_LE(b, e);
        ASSERT_LE(e, n);
        for (int64_t i = b; i < e; ++i) seen[size_t(i)].fetch_add(1);
      },
      grain);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[size_t(i)].load(), 1) << "index " << i << " of " << n;
}

TEST(ThreadPool, VisitsEachIndexOnceForAnySizeAndGrain) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000})
      for (int64_t grain : {1, 3, 100}) expect_each_index_once(pool, n, grain);
  }
}

TEST(ThreadPool, BackToBackLoopsWhileTheWorkersSpin) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  for (int round = 0; round < 20000; ++round)
    pool.parallel_for(6, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  EXPECT_EQ(total.load(), 6 * 20000);
}

TEST(ThreadPool, LoopsAfterTheWorkersWentToSleep) {
  ThreadPool pool(3);
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(ThreadPool::kSpin * 5);  // past the spin: the workers sleep
    expect_each_index_once(pool, 9, 1);
  }
}

// parallel_for_with_thread: the index is a thread's, so no two chunks running at once share one (each
// thread may use its own slice of a scratch buffer), and every index is still visited once.
TEST(ThreadPool, ThreadIndicesAreNeverSharedByRunningChunks) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> busy(3);
  std::vector<std::atomic<int>> seen(1000);
  std::atomic<int> clashes{0}, out_of_range{0};
  for (int round = 0; round < 50; ++round) {
    for (auto& s : seen) s.store(0);
    pool.parallel_for_with_thread(
        1000,
        [&](int thread, int64_t b, int64_t e) {
          if (thread < 0 || thread >= pool.size()) {
            out_of_range.fetch_add(1);
            return;
          }
          if (busy[size_t(thread)].exchange(1) != 0) clashes.fetch_add(1);
          for (int64_t i = b; i < e; ++i) seen[size_t(i)].fetch_add(1);
          busy[size_t(thread)].store(0);
        },
        7);
    for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  }
  EXPECT_EQ(out_of_range.load(), 0);
  EXPECT_EQ(clashes.load(), 0);
}

// A loop body with a large capture runs like any other (it is borrowed, not copied into a
// std::function), and one chunk may take much longer than the others.
TEST(ThreadPool, LargeCapturesAndUnevenChunks) {
  ThreadPool pool(2);
  std::array<int64_t, 64> big{};
  big[7] = 3;
  std::atomic<int64_t> sum{0};
  pool.parallel_for(2, [big, &sum](int64_t b, int64_t e) {
    if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int64_t i = b; i < e; ++i) sum.fetch_add(big[7]);
  });
  EXPECT_EQ(sum.load(), 6);
}

}  // namespace
}  // namespace turbine
