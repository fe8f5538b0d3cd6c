// The collectives tensor parallelism needs, behind one small interface: one Communicator per rank,
// all of a group made together. CPU ranks are threads of one process (make_cpu_communicators);
// GPU ranks talk through NCCL (backend/cuda/nccl_communicator.h, CUDA builds with NCCL only).
//
// Every rank of a group calls the same collectives in the same order with tensors of the same
// shape; a collective returns once every rank has taken part.
#pragma once
#include <memory>
#include <vector>

#include "backend/tensor.h"

namespace turbine {

class Backend;

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Where the tensors live (the group's backends are all of this kind).
  virtual Device device() const = 0;

  // In place: every rank's `t` becomes the elementwise sum of all ranks' `t`. The CPU ranks add in
  // rank order (0 + 1 + 2 ...), so the result does not depend on which thread arrives first.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // Columns side by side: `part` [R, n_rank] of every rank, in rank order, become `whole`
  // [R, sum of n_rank] on every rank. Ranks may hold different widths.
  virtual void all_gather(const Tensor& part, Tensor& whole) = 0;
  virtual void barrier() = 0;
  // For a rank that failed between collectives: every rank waiting in (or later entering) a
  // collective of this group gets an Error instead of waiting for it forever.
  virtual void abort() = 0;
};

// `size` communicators over shared memory, for ranks that are threads of this process (fp32 tensors).
std::vector<std::unique_ptr<Communicator>> make_cpu_communicators(int size);

// One communicator per backend, rank i for backends[i]: CPU ranks share memory, CUDA ranks (one
// device each) use NCCL. Throws Error when the build has no NCCL or the backends mix devices.
std::vector<std::unique_ptr<Communicator>> make_communicators(const std::vector<Backend*>& backends);

}  // namespace turbine
