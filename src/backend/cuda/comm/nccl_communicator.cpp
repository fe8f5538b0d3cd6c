#ifdef TURBINE_WITH_NCCL
#include "backend/cuda/comm/nccl_communicator.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "backend/cuda/comm/nccl_library.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/cuda_backend.h"

namespace turbine::cuda {

namespace {

void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) fail("nccl: {} failed: {}", what, nccl_library().get_error_string(r));
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32: return ncclFloat32;
    case DType::F16: return ncclFloat16;
    case DType::BF16: return ncclBfloat16;
    default: fail("nccl: no collective on {} tensors", dtype_name(t));
  }
}

// What the communicators of one group share. An abort by any rank aborts every rank's NCCL
// communicator: a rank whose peer stopped taking part would otherwise wait in its collective's
// kernel forever (ncclCommAbort of one communicator stops only that rank's kernels). A rank that
// is inside an NCCL call at that moment may still touch its freed communicator: aborting is for a
// group that is going down either way.
struct NcclGroup {
  std::mutex mutex;
  bool aborted = false;
  std::vector<ncclComm_t> comms;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(int rank, std::shared_ptr<NcclGroup> group, CudaBackend& backend)
      : rank_(rank), group_(std::move(group)), backend_(backend) {}
  ~NcclCommunicator() override {
    std::lock_guard lock(group_->mutex);
    if (!group_->aborted) nccl_library().comm_destroy(group_->comms[size_t(rank_)]);
  }

  int rank() const override { return rank_; }
  int size() const override { return int(group_->comms.size()); }
  Device device() const override { return Device::Cuda; }

  void all_reduce_sum(Tensor& t) override {
    backend_.make_current();
    check_nccl(nccl_library().all_reduce(t.data, t.data, size_t(t.numel()), nccl_type(t.dtype), ncclSum, comm(),
                                         backend_.stream()),
               "all_reduce");
  }

  // NCCL gathers equal counts: each part goes out padded to the widest rank's width, and the
  // columns land in `whole` by strided copies. Rank widths follow the near-equal split of
  // model/shard_layout.h (whole * r / size), which every rank can compute alone.
  void all_gather(const Tensor& part, Tensor& whole) override {
    backend_.make_current();
    const int ranks = size();
    const int64_t rows = whole.dim(0), total = whole.dim(1);
    const size_t es = dtype_size(whole.dtype);
    const auto begin = [&](int r) { return total * r / ranks; };
    int64_t widest = 0;
    for (int r = 0; r < ranks; ++r) widest = std::max(widest, begin(r + 1) - begin(r));
    if (part.dim(0) != rows || part.dim(1) != begin(rank_ + 1) - begin(rank_) || part.dtype != whole.dtype)
      fail("nccl all_gather: rank {} part {}x{} does not fit the whole {}x{}", rank_, part.dim(0), part.dim(1), rows,
           total);
    ncclComm_t c = comm();
    cudaStream_t s = backend_.stream();
    Tensor send = backend_.empty(whole.dtype, {rows, widest});
    Tensor recv = backend_.empty(whole.dtype, {int64_t(ranks), rows, widest});
    TURBINE_CUDA_CHECK(cudaMemcpy2DAsync(send.data, size_t(widest) * es, part.data, size_t(part.dim(1)) * es,
                                         size_t(part.dim(1)) * es, size_t(rows), cudaMemcpyDeviceToDevice, s));
    check_nccl(nccl_library().all_gather(send.data, recv.data, size_t(rows * widest), nccl_type(whole.dtype), c, s),
               "all_gather");
    for (int r = 0; r < ranks; ++r) {
      const int64_t w = begin(r + 1) - begin(r);
      const char* src = static_cast<const char*>(recv.data) + size_t(r) * size_t(rows * widest) * es;
      TURBINE_CUDA_CHECK(cudaMemcpy2DAsync(static_cast<char*>(whole.data) + size_t(begin(r)) * es, size_t(total) * es,
                                           src, size_t(widest) * es, size_t(w) * es, size_t(rows),
                                           cudaMemcpyDeviceToDevice, s));
    }
  }

  void barrier() override {
    backend_.make_current();
    Tensor one = backend_.empty(DType::F32, {1});
    check_nccl(nccl_library().all_reduce(one.data, one.data, 1, ncclFloat32, ncclSum, comm(), backend_.stream()),
               "barrier");
    TURBINE_CUDA_CHECK(cudaStreamSynchronize(backend_.stream()));
  }

  void abort() override {
    std::lock_guard lock(group_->mutex);
    if (group_->aborted) return;
    group_->aborted = true;
    for (ncclComm_t c : group_->comms) nccl_library().comm_abort(c);
  }

 private:
  // This rank's NCCL communicator; an Error once any rank of the group aborted.
  ncclComm_t comm() const {
    std::lock_guard lock(group_->mutex);
    if (group_->aborted) fail("tensor parallel: another rank failed (the group is stopped)");
    return group_->comms[size_t(rank_)];
  }

  int rank_;
  std::shared_ptr<NcclGroup> group_;
  CudaBackend& backend_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_nccl_communicators(const std::vector<Backend*>& backends) {
  const int n = int(backends.size());
  std::vector<CudaBackend*> cuda;
  std::vector<int> devices;
  for (Backend* b : backends) {
    auto* c = dynamic_cast<CudaBackend*>(b);
    if (!c) fail("nccl: every rank must be a cuda backend");
    cuda.push_back(c);
    devices.push_back(c->device_index());
  }
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (devices[i] == devices[j]) fail("--devices: GPU {} is named twice (one rank per GPU)", devices[i]);
  auto group = std::make_shared<NcclGroup>();
  group->comms.resize(static_cast<size_t>(n));
  check_nccl(nccl_library().comm_init_all(group->comms.data(), n, devices.data()), "ncclCommInitAll");
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<NcclCommunicator>(r, group, *cuda[size_t(r)]));
  return out;
}

}  // namespace turbine::cuda
#endif  // TURBINE_WITH_NCCL
