// The CPU kernels for any processor of the architecture (x86-64: SSE2 only); see cpu_kernels.inc.
#include <cstdint>

#include "backend/cpu/cpu_kernel_table.h"

// f32x8 values pass between this file's own functions only (all internal), so the SSE ABI GCC warns
// about for 32-byte vectors never meets an AVX caller.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace turbine::cpu {
namespace {
#include "backend/cpu/cpu_kernels.inc"
// Constant-initialized: no code of this file runs before the caller has checked the processor.
constexpr KernelTable kTable = make_table(CpuIsa::Scalar);
}  // namespace

const KernelTable* scalar_kernels() { return &kTable; }

}  // namespace turbine::cpu
