// libnccl.so.2, loaded when a CUDA tensor-parallel group is first made rather than linked: every
// binary of a CUDA build then starts on a machine without NCCL (the GPU machine has only PyTorch's
// copy, put on LD_LIBRARY_PATH by gpu-sessions/device_session.sh), and only tensor parallelism on
// CUDA fails there, with an Error naming the library. The types come from the toolkit's nccl.h.
#pragma once
#ifdef TURBINE_WITH_NCCL
#include <nccl.h>

namespace turbine::cuda {

// The NCCL entry points turbine calls, resolved from the loaded library.
struct NcclLibrary {
  int version = 0;  // ncclGetVersion's code, e.g. 22809 for 2.28.9
  decltype(&ncclGetErrorString) get_error_string = nullptr;
  decltype(&ncclCommInitAll) comm_init_all = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
};

// Loads the library on the first call (dlopen of libnccl.so.2 through the usual search: LD_LIBRARY_PATH,
// then the system's); later calls return the same entry points. Throws Error when the library or
// one of the entry points is missing (every call, so each caller sees it).
const NcclLibrary& nccl_library();

}  // namespace turbine::cuda
#endif  // TURBINE_WITH_NCCL
