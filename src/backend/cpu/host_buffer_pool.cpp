#include "backend/cpu/host_buffer_pool.h"

#include <cstdlib>

#include "core/error.h"

namespace turbine {

HostBufferPool::~HostBufferPool() {
  for (auto& [bytes, p] : free_) std::free(p);
}

std::shared_ptr<void> HostBufferPool::allocate(size_t bytes) {
  bytes = std::max<size_t>(bytes, 1);  // never a null pointer, even for 0 elements
  if (bytes < kMinBytes) {
    void* p = std::malloc(bytes);
    if (!p) fail("cpu: out of host memory allocating {} bytes", bytes);
    return std::shared_ptr<void>(p, std::free);
  }
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = free_.find(bytes); it != free_.end()) {
      p = it->second;
      free_.erase(it);
      cached_bytes_ -= bytes;
    }
  }
  if (!p) p = std::malloc(bytes);
  if (!p) fail("cpu: out of host memory allocating {} bytes", bytes);
  // The deleter keeps the pool alive, so a tensor may outlive the backend that made it.
  return std::shared_ptr<void>(p, [pool = shared_from_this(), bytes](void* q) { pool->release(q, bytes); });
}

void HostBufferPool::release(void* p, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ + bytes <= kMaxCachedBytes) {
      free_.emplace(bytes, p);
      cached_bytes_ += bytes;
      return;
    }
  }
  std::free(p);
}

}  // namespace turbine
