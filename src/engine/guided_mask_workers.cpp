#include "engine/guided_mask_workers.h"

#include <algorithm>
#include <stdexcept>

namespace turbine {

GuidedMaskWorkers::GuidedMaskWorkers(int threads) : threads_(threads) {
  if (threads < 1) throw std::logic_error("guided mask workers: at least one thread");
}

GuidedMaskWorkers::~GuidedMaskWorkers() {
  wait();  // a batch still running uses the samplers: finish it before they can go
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void GuidedMaskWorkers::run(Batch& batch) {
  for (;;) {
    const size_t i = batch.next.fetch_add(1);
    if (i >= batch.samplers.size()) return;
    std::exception_ptr error;
    try {
      batch.samplers[i]->prepare_guide();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(batch.mutex);
    if (error && !batch.error) batch.error = error;
    if (++batch.done == batch.samplers.size()) batch.done_cv.notify_all();
  }
}

void GuidedMaskWorkers::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      batch = batch_;
    }
    if (batch) run(*batch);
  }
}

void GuidedMaskWorkers::start(std::vector<Sampler*> samplers) {
  if (batch_) throw std::logic_error("guided mask workers: a batch is still running");
  if (samplers.empty()) return;
  if (workers_.empty()) {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const int n = std::min(threads_, cores);
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  auto batch = std::make_shared<Batch>();
  batch->samplers = std::move(samplers);
  {
    std::lock_guard lock(mutex_);
    batch_ = std::move(batch);
    ++generation_;
  }
  wake_.notify_all();
}

std::exception_ptr GuidedMaskWorkers::wait() {
  // batch_ stays published until the batch is done, so that a worker waking late still helps.
  const std::shared_ptr<Batch> batch = batch_;
  if (!batch) return nullptr;
  run(*batch);  // the forward pass is done: this thread helps rather than idles
  {
    std::unique_lock lock(batch->mutex);
    batch->done_cv.wait(lock, [&] { return batch->done == batch->samplers.size(); });
  }
  std::lock_guard lock(mutex_);
  batch_.reset();
  return batch->error;
}

}  // namespace turbine
