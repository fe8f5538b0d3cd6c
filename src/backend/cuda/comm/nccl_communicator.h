// The Communicator of CUDA ranks (one GPU each, one thread each): NCCL collectives on each rank's
// backend stream, so they order with the rank's kernels without extra synchronization. Built only
// with NCCL (TURBINE_WITH_NCCL); libnccl.so.2 is loaded from the library path when a group is
// first made (comm/nccl_library.h).
#pragma once
#include <memory>
#include <vector>

#include "backend/communicator.h"

namespace turbine::cuda {

// backends[r] (CUDA backends on distinct devices) is rank r; the communicators are made together
// (ncclCommInitAll). Throws Error when NCCL fails (naming its message). abort() on any of them
// aborts all of them (Communicator::abort: no rank waits forever for one that failed).
std::vector<std::unique_ptr<Communicator>> make_nccl_communicators(const std::vector<Backend*>& backends);

// The loaded libnccl's version code (ncclGetVersion: 22809 for 2.28.9), loading it if needed;
// Error when it cannot be loaded.
int loaded_nccl_version();

}  // namespace turbine::cuda
