// The CPU kernels for AVX2 + FMA + F16C, compiled with those flags (src/CMakeLists.txt); see cpu_kernels.inc.
#include <cstdint>

#include "backend/cpu/cpu_kernel_table.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

namespace turbine::cpu {
namespace {
#include "backend/cpu/cpu_kernels.inc"
// Constant-initialized: no code of this file runs before the caller has checked the processor.
constexpr KernelTable kTable = make_table(CpuIsa::Avx2);
}  // namespace

const KernelTable* avx2_kernels() { return &kTable; }

}  // namespace turbine::cpu
#else
namespace turbine::cpu {
const KernelTable* avx2_kernels() { return nullptr; }  // not an x86-64 build
}  // namespace turbine::cpu
#endif
