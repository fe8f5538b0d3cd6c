// Helpers shared by the CPU op tests: a small backend and host <-> tensor shortcuts.
#pragma once
#include <memory>

#include "backend/cpu/cpu_backend.h"
#include "support/op_reference.h"

namespace turbine::test {

inline std::unique_ptr<CpuBackend> make_cpu(int threads = 2, size_t budget = size_t(1) << 30) {
  BackendOptions o;
  o.threads = threads;
  o.memory_budget = budget;
  return std::make_unique<CpuBackend>(o);
}

inline Tensor upload_vec(Backend& b, const Vec& v, std::vector<int64_t> shape) {
  const auto f = to_float(v);
  return b.upload(f.data(), DType::F32, std::move(shape), DType::F32);
}

}  // namespace turbine::test
