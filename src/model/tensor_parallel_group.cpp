#include "model/tensor_parallel_group.h"

#include <stdexcept>

#include "model/llama_model.h"

namespace turbine {

TensorParallelGroup::TensorParallelGroup(std::vector<std::unique_ptr<Backend>> backends,
                                         std::vector<std::unique_ptr<Communicator>> comms)
    : backends_(std::move(backends)), comms_(std::move(comms)), errors_(comms_.size()) {
  if (backends_.size() != comms_.size() || comms_.empty())
    throw std::logic_error("tensor parallel group: one backend and communicator per rank");
  for (int r = 1; r < size(); ++r) threads_.emplace_back([this, r] { worker(r); });
}

TensorParallelGroup::~TensorParallelGroup() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : threads_) t.join();
  models_.clear();  // before the backends their weights live on
}

void TensorParallelGroup::set_models(std::vector<std::unique_ptr<LlamaModel>> models) {
  if (int(models.size()) != size() - 1) throw std::logic_error("tensor parallel group: one model per rank after 0");
  models_ = std::move(models);
}

void TensorParallelGroup::run_rank(int rank, const std::function<void(int)>& fn) {
  try {
    if (rank > 0) backends_[size_t(rank)]->make_current();
    fn(rank);
  } catch (...) {
    errors_[size_t(rank)] = std::current_exception();
    comms_[size_t(rank)]->abort();
  }
}

void TensorParallelGroup::run(const std::function<void(int)>& fn) {
  {
    std::lock_guard lock(mutex_);
    for (auto& e : errors_) e = nullptr;
    job_ = &fn;
    ++job_generation_;
    running_ = size() - 1;
  }
  start_cv_.notify_all();
  run_rank(0, fn);
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return running_ == 0; });
  job_ = nullptr;
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

void TensorParallelGroup::worker(int rank) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job = nullptr;
    {
      std::unique_lock lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || job_generation_ != seen; });
      if (stop_) return;
      seen = job_generation_;
      job = job_;
    }
    run_rank(rank, *job);
    std::lock_guard lock(mutex_);
    if (--running_ == 0) done_cv_.notify_all();
  }
}

}  // namespace turbine
