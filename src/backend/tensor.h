// A typed, shaped view of memory owned by a backend (host memory for cpu, device memory for cuda).
// Tensors are cheap handles: copies share the storage; `storage` keeps it alive.
#pragma once
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace turbine {

enum class Device : uint8_t { Cpu, Cuda };

struct Tensor {
  std::shared_ptr<void> storage;  // owner of the memory (null for a borrowed view)
  void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  Device device = Device::Cpu;

  bool defined() const { return data != nullptr; }
  int rank() const { return int(shape.size()); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  int64_t numel() const { return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>()); }
  size_t bytes() const { return size_t(numel()) * dtype_size(dtype); }
  template <typename T>
  T* ptr() const {
    return static_cast<T*>(data);
  }

  // Same memory, another shape with the same element count.
  Tensor reshaped(std::vector<int64_t> new_shape) const {
    Tensor t = *this;
    t.shape = std::move(new_shape);
    if (t.numel() != numel()) fail("reshape changes the element count");
    return t;
  }
  // Rows [begin, end) along the first dimension (contiguous, shares storage).
  Tensor rows(int64_t begin, int64_t end) const {
    Tensor t = *this;
    const int64_t row = shape.empty() ? 1 : numel() / shape[0];
    t.data = static_cast<char*>(data) + size_t(begin * row) * dtype_size(dtype);
    t.shape[0] = end - begin;
    return t;
  }
};

}  // namespace turbine
