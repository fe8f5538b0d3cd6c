// The threads that take a step's host work off the engine's step thread, row by row:
// - guided rows' masks while the forward pass runs: a row's mask depends only on its matcher state
//   after the previous token, known before the forward is issued, so the trie walks (0.1-5 ms each
//   for a new state) overlap the device's work instead of following it;
// - after the forward pass, the rows sampled on the host (guided decoding, logprobs, presence and
//   frequency penalties, plain temperature sampling): each is a pass over the vocabulary (about
//   1 ms at 151k ids), and a batch of them would otherwise run one after another.
// A row's work touches only that row's sampler and output slot, so rows run in any order on any
// thread and give the same ids as on one thread.
//
// Owned by the Engine (--sampling-threads of them); the threads start with the first batch, so an
// engine that never has host work for them starts none, and are joined when it is destroyed. One
// batch at a time, started and waited for by one thread (the engine's step loop).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace turbine {

class StepWorkers {
 public:
  using Task = std::function<void(size_t)>;

  // threads >= 1 (capped at the machine's cores when they start).
  explicit StepWorkers(int threads);
  ~StepWorkers();
  StepWorkers(const StepWorkers&) = delete;
  StepWorkers& operator=(const StepWorkers&) = delete;

  // Begins task(0) .. task(n - 1) on the workers. Until wait() returns the caller must not touch
  // what the tasks use.
  void start(size_t n, Task task);
  // Runs on this thread what no worker has taken yet, waits for the rest, and returns the first
  // exception a task threw (null when none did). Nothing to wait for returns null.
  std::exception_ptr wait();
  // start and wait; rethrows the first exception a task threw.
  void run(size_t n, Task task);

  int threads() const { return threads_; }
  // Threads started (0 until the first batch).
  int started() const { return int(workers_.size()); }

 private:
  struct Batch {
    size_t size = 0;
    Task task;
    std::atomic<size_t> next{0};  // the next task to claim
    std::mutex mutex;
    std::condition_variable done_cv;
    size_t done = 0;  // under mutex
    std::exception_ptr error;
  };
  static void run_tasks(Batch& batch);
  void worker_loop();

  int threads_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Batch> batch_;  // the batch in progress, until it is done (set by the caller only)
  uint64_t generation_ = 0;       // batches started: a worker takes each at most once
  bool stop_ = false;
};

// task(0) .. task(n - 1): on `workers` where there are any and more than one task, else in order on
// this thread. Rethrows the first exception a task threw.
void for_each_row(StepWorkers* workers, size_t n, const StepWorkers::Task& task);

}  // namespace turbine
