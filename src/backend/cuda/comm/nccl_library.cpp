#ifdef TURBINE_WITH_NCCL
#include "backend/cuda/comm/nccl_library.h"

#include <dlfcn.h>

#include <string>

#include "backend/cuda/comm/nccl_communicator.h"
#include "core/error.h"

namespace turbine::cuda {

namespace {

struct Loaded {
  NcclLibrary library;
  std::string error;  // why it could not be loaded; empty once it is
};

template <typename F>
bool resolve(void* handle, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  if (!out) error = fmt::format("libnccl.so.2 has no {} (too old an NCCL?)", name);
  return out != nullptr;
}

Loaded load() {
  Loaded l;
  // The handle is never closed: NCCL keeps threads and device state for the life of the process.
  void* handle = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    l.error = fmt::format(
        "cannot load libnccl.so.2, which tensor parallelism on cuda needs ({}); put the directory "
        "that holds it on LD_LIBRARY_PATH",
        why ? why : "not found");
    return l;
  }
  NcclLibrary& n = l.library;
  decltype(&ncclGetVersion) get_version = nullptr;
  if (!resolve(handle, "ncclGetVersion", get_version, l.error) ||
      !resolve(handle, "ncclGetErrorString", n.get_error_string, l.error) ||
      !resolve(handle, "ncclCommInitAll", n.comm_init_all, l.error) ||
      !resolve(handle, "ncclCommDestroy", n.comm_destroy, l.error) ||
      !resolve(handle, "ncclCommAbort", n.comm_abort, l.error) ||
      !resolve(handle, "ncclAllReduce", n.all_reduce, l.error) ||
      !resolve(handle, "ncclAllGather", n.all_gather, l.error))
    return l;
  if (get_version(&n.version) != ncclSuccess) l.error = "libnccl.so.2: ncclGetVersion failed";
  return l;
}

}  // namespace

const NcclLibrary& nccl_library() {
  // Loaded once per process (a thread-safe static): the library is a process-wide resource.
  static const Loaded loaded = load();
  if (!loaded.error.empty()) fail("{}", loaded.error);
  return loaded.library;
}

int loaded_nccl_version() { return nccl_library().version; }

}  // namespace turbine::cuda
#endif  // TURBINE_WITH_NCCL
