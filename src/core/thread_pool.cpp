#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace turbine {

namespace {

// Tells the processor this is a spin-wait (frees the core's resources for its sibling thread).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() holds or kSpin has passed; true when done() held. Only the pause hint, no yield:
// on a machine shared with other (even niced) processes a yield hands the core to them for a whole
// time slice, several times the length of a decode step's loops (docs/performance.md, "Thread pool").
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks(int thread) {
  for (;;) {
    const int c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (c >= task_chunks_) return;
    const int64_t begin = task_n_ * c / task_chunks_;
    const int64_t end = task_n_ * (c + 1) / task_chunks_;
    if (begin < end) task_.call(task_.fn, thread, begin, end);
  }
}

uint64_t ThreadPool::wait_for_work(uint64_t seen) {
  auto changed = [&] {
    return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
  };
  if (!spin_until(changed)) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, changed);
  }
  return generation_.load(std::memory_order_acquire);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_work(seen);
    if (stop_.load(std::memory_order_acquire)) return;
    run_chunks(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The caller may be asleep on done_cv_: notify under the mutex so the wake-up cannot fall between
      // its check and its wait.
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t n, int64_t grain, Task task) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t grains = (n + grain - 1) / grain;
  const int chunks = int(std::min<int64_t>(int64_t(size()) * kChunksPerThread, grains));
  if (chunks <= 1 || workers_.empty()) {
    task.call(task.fn, 0, 0, n);
    return;
  }
  {
    // Under the mutex, so a worker about to sleep either sees the new generation or gets the notify.
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = task;
    task_n_ = n;
    task_chunks_ = chunks;
    next_chunk_.store(0, std::memory_order_relaxed);
    pending_.store(int(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks(0);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, done);
  }
}

}  // namespace turbine
