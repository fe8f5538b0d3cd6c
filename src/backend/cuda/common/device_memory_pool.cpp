#include "backend/cuda/common/device_memory_pool.h"

#include <cuda_runtime.h>

#include "backend/cuda/common/cuda_check.h"

namespace turbine::cuda {
namespace {

// Rounds small requests to 512 bytes and large ones to an eighth of their power of two, so
// blocks of nearby sizes are shared without wasting more than 12.5%.
size_t round_size(size_t bytes) {
  if (bytes <= (size_t(1) << 20)) return (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
  size_t p = 1;
  while (p < bytes) p <<= 1;
  const size_t step = p / 16;
  return (bytes + step - 1) / step * step;
}

}  // namespace

std::shared_ptr<void> DeviceMemoryPool::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  void* ptr = nullptr;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->free_blocks.find(size);
    if (it != state_->free_blocks.end()) {
      ptr = it->second;
      state_->free_blocks.erase(it);
      state_->cached -= size;
    }
  }
  if (!ptr) {
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error, give back the cache and retry once
      release_cached();
      status = cudaMalloc(&ptr, size);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      fail("cuda: cannot allocate {} bytes of device memory: {}", size, cudaGetErrorString(status));
    }
  }
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(ptr, [state, size](void* p) {
    std::lock_guard lock(state->mutex);
    if (!state->alive) {
      cudaFree(p);
      return;
    }
    state->free_blocks.emplace(size, p);
    state->cached += size;
  });
}

DeviceMemoryPool::~DeviceMemoryPool() {
  std::lock_guard lock(state_->mutex);
  state_->alive = false;  // blocks still owned by tensors are freed directly when they go
  release_locked(*state_);
}

size_t DeviceMemoryPool::cached_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->cached;
}

void DeviceMemoryPool::release_locked(State& state) {
  for (auto& [size, p] : state.free_blocks) cudaFree(p);
  state.free_blocks.clear();
  state.cached = 0;
}

void DeviceMemoryPool::release_cached() {
  std::lock_guard lock(state_->mutex);
  release_locked(*state_);
}

}  // namespace turbine::cuda
