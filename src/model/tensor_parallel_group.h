// The ranks 1..N-1 of a tensor-parallel model, driven by rank 0 (the LlamaModel callers hold):
// their backends, their models, every rank's communicator, and one thread per rank that runs the
// step rank 0 hands out. Rank 0 runs its own share on the calling thread, so a step costs two
// hand-overs per rank and no thread of its own.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "backend/communicator.h"

namespace turbine {

class LlamaModel;

class TensorParallelGroup {
 public:
  // backends[r] and comms[r] belong to rank r (backends[0] and comms[0] to rank 0, whose model is
  // the caller); models[r - 1] is rank r's model. The threads start here.
  TensorParallelGroup(std::vector<std::unique_ptr<Backend>> backends, std::vector<std::unique_ptr<Communicator>> comms);
  ~TensorParallelGroup();  // joins the threads, then frees the models before their backends
  TensorParallelGroup(const TensorParallelGroup&) = delete;
  TensorParallelGroup& operator=(const TensorParallelGroup&) = delete;

  int size() const { return int(comms_.size()); }
  Communicator& communicator(int rank) const { return *comms_.at(size_t(rank)); }
  // Rank r's backend (r >= 1; rank 0's belongs to the caller and is null here).
  Backend& backend(int rank) const { return *backends_.at(size_t(rank)); }
  // Rank r's model (r >= 1), set once after loading.
  LlamaModel& model(int rank) const { return *models_.at(size_t(rank - 1)); }
  void set_models(std::vector<std::unique_ptr<LlamaModel>> models);

  // Runs fn(rank) for every rank at once: rank 0 on the calling thread, the others on theirs; returns
  // when all have. A rank that throws stops the group's communicators (so no rank waits forever in a
  // collective) and the lowest failing rank's exception is rethrown here.
  void run(const std::function<void(int)>& fn);

 private:
  void worker(int rank);
  void run_rank(int rank, const std::function<void(int)>& fn);

  std::vector<std::unique_ptr<Backend>> backends_;  // [0] is null
  std::vector<std::unique_ptr<Communicator>> comms_;
  std::vector<std::unique_ptr<LlamaModel>> models_;

  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t job_generation_ = 0;
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::exception_ptr> errors_;
  std::vector<std::thread> threads_;
};

}  // namespace turbine
