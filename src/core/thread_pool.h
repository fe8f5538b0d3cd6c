// A fixed pool of worker threads for data-parallel loops (the CPU backend's ops).
// parallel_for splits [0, n) into contiguous chunks (up to kChunksPerThread per thread) that the
// threads claim one at a time from an atomic counter, and returns when all are done: a thread slowed
// down (another process on its core) takes fewer chunks instead of holding the others up.
//
// A decode step is a few hundred short loops, so the cost of starting one matters: between loops the
// workers (and the caller, while it waits for them) spin on an atomic for a short while (kSpin) with
// the processor's pause hint, and only then sleep on a condition variable. A loop that starts within
// the spin costs a cache-line transfer, not a futex wake-up. Starting a loop allocates nothing.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace turbine {

class ThreadPool {
 public:
  // How long an idle worker (or a waiting caller) spins before it sleeps: longer than the gaps between
  // the loops of a step, short enough that a thread sharing its core wastes little.
  static constexpr std::chrono::microseconds kSpin{30};
  // Chunks per thread when the range has that many grains.
  static constexpr int kChunksPerThread = 4;

  // threads = 0 picks the hardware concurrency.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }  // workers plus the calling thread

  // fn(begin, end) over contiguous chunks of [0, n); chunks are at least `grain` long. fn must not
  // throw. Not re-entrant: call from one thread at a time.
  template <typename Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t grain = 1) {
    using F = std::remove_reference_t<Fn>;
    run(n, grain, Task{const_cast<void*>(static_cast<const void*>(&fn)), [](void* f, int, int64_t b, int64_t e) {
                         (*static_cast<F*>(f))(b, e);
                       }});
  }
  // fn(thread, begin, end): as parallel_for, with the index of the thread running the chunk, in
  // [0, size()), so that each thread can use its own slice of a scratch buffer.
  template <typename Fn>
  void parallel_for_with_thread(int64_t n, Fn&& fn, int64_t grain = 1) {
    using F = std::remove_reference_t<Fn>;
    run(n, grain, Task{const_cast<void*>(static_cast<const void*>(&fn)), [](void* f, int thread, int64_t b, int64_t e) {
                         (*static_cast<F*>(f))(thread, b, e);
                       }});
  }

 private:
  // A borrowed callable: the loop body lives on the caller's stack for the duration of run().
  struct Task {
    void* fn = nullptr;
    void (*call)(void*, int thread, int64_t begin, int64_t end) = nullptr;
  };

  void run(int64_t n, int64_t grain, Task task);
  void worker_loop(int index);
  // Claims and runs chunks until none is left; `thread` is the caller's index (0 = the caller).
  void run_chunks(int thread);
  // Waits until generation_ differs from `seen` (or stop); returns the new generation.
  uint64_t wait_for_work(uint64_t seen);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  Task task_;
  int64_t task_n_ = 0;
  int task_chunks_ = 0;
  std::atomic<int> next_chunk_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace turbine
