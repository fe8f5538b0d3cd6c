// Communicator for CPU ranks that are threads of one process. The ranks meet at a shared rendezvous:
// each posts its tensor, waits until all have, and then each does a part of the work over the other
// ranks' tensors directly (no copies into a mailbox). A rendezvous counts generations, so one that
// starts while a slow rank is still leaving the last one cannot be confused with it.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>

#include "backend/backend.h"
#include "backend/communicator.h"
#include "backend/shape_string.h"

#ifdef TURBINE_WITH_NCCL
#include "backend/cuda/comm/nccl_communicator.h"
#endif

namespace turbine {

namespace {

// What a rank publishes for a collective: its tensor and the sizes every rank checks.
struct Posted {
  const Tensor* tensor = nullptr;
  int64_t numel = 0, rows = 0, cols = 0, whole_cols = 0;
};

struct Rendezvous {
  explicit Rendezvous(int n) : size(n), posted(size_t(n)), sum(0) {}

  // Returns when every rank has arrived; Error when the group was aborted.
  void wait_all() {
    std::unique_lock lock(mutex);
    if (aborted) fail("tensor parallel: another rank failed (the group is stopped)");
    const uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return generation != gen || aborted; });
      if (generation == gen) fail("tensor parallel: another rank failed (the group is stopped)");
    }
  }

  void abort() {
    std::lock_guard lock(mutex);
    aborted = true;
    cv.notify_all();
  }

  const int size;
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  bool aborted = false;
  // Written by each rank into its own slot before a wait_all, read by all after it.
  std::vector<Posted> posted;
  std::vector<float> sum;  // all_reduce_sum's result, each rank writing its share of the elements
};

void require_f32(const Tensor& t, const char* op) {
  if (t.dtype != DType::F32 || t.device != Device::Cpu)
    fail("tensor parallel {}: cpu ranks exchange fp32 host tensors, got {} on {}", op, dtype_name(t.dtype),
         t.device == Device::Cpu ? "cpu" : "cuda");
}

class CpuCommunicator : public Communicator {
 public:
  CpuCommunicator(int rank, std::shared_ptr<Rendezvous> rv) : rank_(rank), rv_(std::move(rv)) {}

  int rank() const override { return rank_; }
  int size() const override { return rv_->size; }
  Device device() const override { return Device::Cpu; }

  void all_reduce_sum(Tensor& t) override {
    require_f32(t, "all_reduce_sum");
    const int n = size();
    if (n == 1) return;
    const size_t count = size_t(t.numel());
    if (rank_ == 0) rv_->sum.resize(std::max(rv_->sum.size(), count));  // before the others can write
    post({&t, t.numel(), 0, 0, 0});
    // Every rank checks every rank's shape, so all of them fail together or none does.
    for (int r = 0; r < n; ++r)
      if (rv_->posted[r].numel != rv_->posted[0].numel)
        fail("tensor parallel all_reduce_sum: rank 0 has {} elements, rank {} {}", rv_->posted[0].numel, r,
             rv_->posted[r].numel);
    // Each rank adds up its own share of the elements, always in rank order.
    const size_t begin = count * size_t(rank_) / size_t(n), end = count * size_t(rank_ + 1) / size_t(n);
    float* sum = rv_->sum.data();
    std::memcpy(sum + begin, rv_->posted[0].tensor->ptr<float>() + begin, (end - begin) * sizeof(float));
    for (int r = 1; r < n; ++r) {
      const float* x = rv_->posted[r].tensor->ptr<float>();
      for (size_t i = begin; i < end; ++i) sum[i] += x[i];
    }
    rv_->wait_all();  // every share written
    std::memcpy(t.data, sum, count * sizeof(float));
    rv_->wait_all();  // every rank has its copy: the next collective may reuse `sum` and the tensors
  }

  void all_gather(const Tensor& part, Tensor& whole) override {
    require_f32(part, "all_gather");
    require_f32(whole, "all_gather");
    if (part.rank() != 2 || whole.rank() != 2)
      fail("tensor parallel all_gather: part {} and whole {} must be [R, n] and [R, N]", shape_string(part.shape),
           shape_string(whole.shape));
    post({&part, part.numel(), part.dim(0), part.dim(1), whole.dim(1)});
    int64_t width = 0;
    for (const Posted& p : rv_->posted) {
      width += p.cols;
      if (p.rows != rv_->posted[0].rows)
        fail("tensor parallel all_gather: parts of {} and {} rows", rv_->posted[0].rows, p.rows);
    }
    for (const Posted& p : rv_->posted)
      if (p.whole_cols != width)
        fail("tensor parallel all_gather: the parts are {} columns wide together, a whole {}", width, p.whole_cols);
    if (whole.dim(0) != part.dim(0)) {  // the shapes of this rank's own output are its own business
      rv_->wait_all();
      fail("tensor parallel all_gather: part {} and whole {} differ in rows", shape_string(part.shape),
           shape_string(whole.shape));
    }
    const int64_t rows = whole.dim(0);
    int64_t col = 0;
    for (const Posted& p : rv_->posted) {
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(whole.ptr<float>() + r * width + col, p.tensor->ptr<float>() + r * p.cols,
                    size_t(p.cols) * sizeof(float));
      col += p.cols;
    }
    rv_->wait_all();  // no rank overwrites its part before every rank has read it
  }

  void barrier() override { rv_->wait_all(); }
  void abort() override { rv_->abort(); }

 private:
  // Publishes this rank's tensor and shape and waits for every rank's.
  void post(const Posted& mine) {
    rv_->posted[rank_] = mine;
    rv_->wait_all();
  }

  int rank_;
  std::shared_ptr<Rendezvous> rv_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_cpu_communicators(int size) {
  if (size < 1) fail("tensor parallel: {} ranks (at least 1)", size);
  auto rv = std::make_shared<Rendezvous>(size);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < size; ++r) comms.push_back(std::make_unique<CpuCommunicator>(r, rv));
  return comms;
}

std::vector<std::unique_ptr<Communicator>> make_communicators(const std::vector<Backend*>& backends) {
  if (backends.empty()) fail("tensor parallel: no ranks");
  const Device device = backends[0]->device();
  for (const Backend* b : backends)
    if (b->device() != device) fail("tensor parallel: the ranks mix cpu and cuda backends");
  if (device == Device::Cpu) return make_cpu_communicators(int(backends.size()));
#ifdef TURBINE_WITH_NCCL
  return cuda::make_nccl_communicators(backends);
#else
  fail("tensor parallel on cuda needs NCCL, and this build has none");
#endif
}

}  // namespace turbine
