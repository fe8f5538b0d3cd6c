// Choosing the kernel table: cpuid (through the compiler's __builtin_cpu_supports) says what the
// processor has; a forced --cpu-isa the processor lacks is a user error, not a crash on SIGILL.
#include "backend/cpu/cpu_kernel_table.h"
#include "core/error.h"

namespace turbine::cpu {

bool cpu_has_isa(CpuIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  switch (isa) {
    case CpuIsa::Auto:
    case CpuIsa::Scalar: return true;
    case CpuIsa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CpuIsa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpu_has_isa(CpuIsa::Avx2);
  }
  return false;
#else
  return isa == CpuIsa::Auto || isa == CpuIsa::Scalar;
#endif
}

namespace {

// The table of `isa` when this build has one (a function compiled for an instruction set is called
// only after cpuid said the processor has it).
const KernelTable* compiled(CpuIsa isa) {
  if (!cpu_has_isa(isa)) return nullptr;
  switch (isa) {
    case CpuIsa::Avx512: return avx512_kernels();
    case CpuIsa::Avx2: return avx2_kernels();
    default: return scalar_kernels();
  }
}

}  // namespace

CpuIsa best_cpu_isa() {
  for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2})
    if (compiled(isa)) return isa;
  return CpuIsa::Scalar;
}

const KernelTable& kernels_for(CpuIsa isa) {
  if (isa == CpuIsa::Auto) isa = best_cpu_isa();
  if (!cpu_has_isa(isa)) fail("--cpu-isa {}: this processor does not support it", cpu_isa_name(isa));
  const KernelTable* table = compiled(isa);
  if (!table)
    fail("--cpu-isa {}: this build has no {} kernels (not an x86-64 build)", cpu_isa_name(isa), cpu_isa_name(isa));
  return *table;
}

}  // namespace turbine::cpu
