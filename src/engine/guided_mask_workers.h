// The threads that find guided rows' masks while a step's forward pass runs. A row's mask depends
// only on its matcher state after the previous token, which is known before the forward is issued,
// so the trie walks (0.1-5 ms each for a new state) overlap the device's work instead of following
// it on the step thread.
//
// Owned by the Engine (--guided-threads of them); the threads start with the first batch, so an
// engine that never sees a guided request starts none, and are joined when it is destroyed. One
// batch at a time, started and waited for by one thread (the engine's step loop).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/sampler.h"

namespace turbine {

class GuidedMaskWorkers {
 public:
  // threads >= 1 (capped at the machine's cores when they start).
  explicit GuidedMaskWorkers(int threads);
  ~GuidedMaskWorkers();
  GuidedMaskWorkers(const GuidedMaskWorkers&) = delete;
  GuidedMaskWorkers& operator=(const GuidedMaskWorkers&) = delete;

  // Begins Sampler::prepare_guide() of every sampler on the workers. Until wait() returns the
  // caller must not touch them.
  void start(std::vector<Sampler*> samplers);
  // Prepares on this thread what no worker has taken yet, waits for the rest, and returns the first
  // exception a preparation threw (null when none did). Nothing to wait for returns null.
  std::exception_ptr wait();

  int threads() const { return threads_; }
  // Threads started (0 until the first batch).
  int started() const { return int(workers_.size()); }

 private:
  struct Batch {
    std::vector<Sampler*> samplers;
    std::atomic<size_t> next{0};  // the next sampler to claim
    std::mutex mutex;
    std::condition_variable done_cv;
    size_t done = 0;  // under mutex
    std::exception_ptr error;
  };
  static void run(Batch& batch);
  void worker_loop();

  int threads_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Batch> batch_;  // the batch in progress, until it is done (set by the caller only)
  uint64_t generation_ = 0;       // batches started: a worker takes each at most once
  bool stop_ = false;
};

}  // namespace turbine
