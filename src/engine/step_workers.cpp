#include "engine/step_workers.h"

#include <algorithm>
#include <stdexcept>

namespace turbine {

StepWorkers::StepWorkers(int threads) : threads_(threads) {
  if (threads < 1) throw std::logic_error("step workers: at least one thread");
}

StepWorkers::~StepWorkers() {
  wait();  // a batch still running uses the caller's data: finish it before that can go
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void StepWorkers::run_tasks(Batch& batch) {
  for (;;) {
    const size_t i = batch.next.fetch_add(1);
    if (i >= batch.size) return;
    std::exception_ptr error;
    try {
      batch.task(i);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(batch.mutex);
    if (error && !batch.error) batch.error = error;
    if (++batch.done == batch.size) batch.done_cv.notify_all();
  }
}

void StepWorkers::worker_loop() {
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
    if (batch) run_tasks(*batch);
  }
}

void StepWorkers::start(size_t n, Task task) {
  if (batch_) throw std::logic_error("step workers: a batch is still running");
  if (n == 0) return;
  if (workers_.empty()) {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const int count = std::min(threads_, cores);
    for (int i = 0; i < count; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  auto batch = std::make_shared<Batch>();
  batch->size = n;
  batch->task = std::move(task);
  {
    std::lock_guard lock(mutex_);
    batch_ = std::move(batch);
    ++generation_;
  }
  wake_.notify_all();
}

std::exception_ptr StepWorkers::wait() {
  // batch_ stays published until the batch is done, so that a worker waking late still helps.
  const std::shared_ptr<Batch> batch = batch_;
  if (!batch) return nullptr;
  run_tasks(*batch);  // this thread helps rather than idles
  {
    std::unique_lock lock(batch->mutex);
    batch->done_cv.wait(lock, [&] { return batch->done == batch->size; });
  }
  std::lock_guard lock(mutex_);
  batch_.reset();
  return batch->error;
}

void StepWorkers::run(size_t n, Task task) {
  start(n, std::move(task));
  if (const std::exception_ptr failed = wait()) std::rethrow_exception(failed);
}

void for_each_row(StepWorkers* workers, size_t n, const StepWorkers::Task& task) {
  if (workers && n > 1) {
    workers->run(n, task);
    return;
  }
  for (size_t i = 0; i < n; ++i) task(i);
}

}  // namespace turbine
