// A caching device allocator: freed blocks go back to size-keyed free lists instead of cudaFree,
// so the per-step activations of a forward pass cost no cudaMalloc after the first steps.
// All users share one stream, so a block reused by later work is ordered after its last use.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

namespace turbine::cuda {

class DeviceMemoryPool {
 public:
  explicit DeviceMemoryPool(int device) : state_(std::make_shared<State>()) { state_->device = device; }
  ~DeviceMemoryPool();
  DeviceMemoryPool(const DeviceMemoryPool&) = delete;
  DeviceMemoryPool& operator=(const DeviceMemoryPool&) = delete;
  // The memory returns to the pool when the last owner lets go (even after the pool is gone).
  std::shared_ptr<void> allocate(size_t bytes);
  // Bytes held in free lists (reusable without asking the driver).
  size_t cached_bytes() const;
  // Gives every cached block back to the driver.
  void release_cached();

 private:
  struct State {
    int device = 0;
    std::mutex mutex;
    std::multimap<size_t, void*> free_blocks;
    size_t cached = 0;
    bool alive = true;
  };
  static void release_locked(State& state);
  std::shared_ptr<State> state_;
};

}  // namespace turbine::cuda
