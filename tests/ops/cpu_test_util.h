// Helpers shared by the CPU op tests: a small backend and host <-> tensor shortcuts.
#pragma once
#include <memory>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernel_table.h"
#include "support/op_reference.h"

namespace turbine::test {

inline std::unique_ptr<CpuBackend> make_cpu(int threads = 2, size_t budget = size_t(1) << 30) {
  BackendOptions o;
  o.threads = threads;
  o.memory_budget = budget;
  return std::make_unique<CpuBackend>(o);
}

// A backend on one kernel table (instruction set).
inline std::unique_ptr<CpuBackend> make_cpu_isa(CpuIsa isa, int threads = 2) {
  BackendOptions o;
  o.threads = threads;
  o.cpu.isa = isa;
  return std::make_unique<CpuBackend>(o);
}

// The kernel tables this processor runs and this build compiled.
inline std::vector<CpuIsa> runnable_isas() {
  std::vector<CpuIsa> out = {CpuIsa::Scalar};
  if (cpu::cpu_has_isa(CpuIsa::Avx2) && cpu::avx2_kernels()) out.push_back(CpuIsa::Avx2);
  if (cpu::cpu_has_isa(CpuIsa::Avx512) && cpu::avx512_kernels()) out.push_back(CpuIsa::Avx512);
  return out;
}

inline Tensor upload_vec(Backend& b, const Vec& v, std::vector<int64_t> shape) {
  const auto f = to_float(v);
  return b.upload(f.data(), DType::F32, std::move(shape), DType::F32);
}

}  // namespace turbine::test
