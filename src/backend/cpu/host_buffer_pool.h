// Reuse of large host buffers. A fresh multi-megabyte allocation costs one page fault per 4 KiB
// the first time it is written (glibc hands such sizes straight to mmap/munmap), which made
// per-step buffers such as logits dominate long runs. Freed buffers of at least kMinBytes are
// kept, up to kMaxCachedBytes in total, and handed out again for requests of the same size.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

namespace turbine {

class HostBufferPool : public std::enable_shared_from_this<HostBufferPool> {
 public:
  static constexpr size_t kMinBytes = size_t(1) << 20;
  static constexpr size_t kMaxCachedBytes = size_t(256) << 20;

  ~HostBufferPool();
  // An uninitialized buffer of `bytes` bytes whose deleter returns it to this pool.
  // Throws Error when memory runs out.
  std::shared_ptr<void> allocate(size_t bytes);

 private:
  void release(void* p, size_t bytes);

  std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // size -> buffer
  size_t cached_bytes_ = 0;
};

}  // namespace turbine
