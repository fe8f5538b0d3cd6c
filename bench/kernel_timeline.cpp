// A CUPTI injection library that writes every kernel's GPU start and end: a timeline of a run on a
// machine without Nsight Systems. The CUDA driver loads it into any program at initialisation:
//   CUDA_INJECTION64_PATH=build/bench/libkernel_timeline.so TURBINE_TIMELINE=kernels.csv <command>
// One CSV line per kernel, from CUPTI's concurrent-kernel records (they keep the overlap that
// programmatic dependent launch and graphs give): start_ns,end_ns,graph_node,grid,block,
// registers,name. bench/timeline_summary.py turns it into per-op costs of a decode step.
#include <cupti.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

constexpr size_t kBufferBytes = size_t(8) << 20;

// The one file all of CUPTI's buffer callbacks append to (they carry no user pointer).
struct Sink {
  std::mutex mutex;
  std::FILE* file = nullptr;
};

Sink& sink() {
  static Sink s;
  return s;
}

void report(const char* what, CUptiResult r) {
  if (r == CUPTI_SUCCESS) return;
  const char* text = nullptr;
  cuptiGetResultString(r, &text);
  std::fprintf(stderr, "kernel_timeline: %s: %s\n", what, text ? text : "unknown error");
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  Sink& s = sink();
  {
    std::lock_guard lock(s.mutex);
    CUpti_Activity* record = nullptr;
    while (s.file && cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
      if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) continue;
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      std::fprintf(s.file, "%llu,%llu,%llu,%dx%dx%d,%dx%dx%d,%u,%s\n", (unsigned long long)k->start,
                   (unsigned long long)k->end, (unsigned long long)k->graphNodeId, k->gridX, k->gridY, k->gridZ,
                   k->blockX, k->blockY, k->blockZ, unsigned(k->registersPerThread), k->name ? k->name : "?");
    }
  }
  std::free(buffer);
}

void finish() {
  report("flush", cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  if (s.file) std::fclose(s.file);
  s.file = nullptr;
}

}  // namespace

// Called by the CUDA driver when CUDA_INJECTION64_PATH names this library; nonzero means success.
extern "C" int InitializeInjection(void) {
  const char* path = std::getenv("TURBINE_TIMELINE");
  Sink& s = sink();
  s.file = std::fopen(path && *path ? path : "kernel_timeline.csv", "w");
  if (!s.file) {
    std::perror("kernel_timeline: cannot write the timeline");
    return 0;
  }
  std::fprintf(s.file, "start_ns,end_ns,graph_node,grid,block,registers,name\n");
  report("register callbacks", cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
  report("enable kernel records", cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  std::atexit(finish);
  return 1;
}
