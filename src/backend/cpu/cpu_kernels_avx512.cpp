// The CPU kernels for AVX-512 (F, BW, VL, DQ) with FMA and F16C, compiled with those flags
// (src/CMakeLists.txt): the same source as AVX2, with 32 vector registers the compiler may use and
// AVX-512's masked and wider forms where it finds them; see cpu_kernels.inc.
#include <cstdint>

#include "backend/cpu/cpu_kernel_table.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

namespace turbine::cpu {
namespace {
#include "backend/cpu/cpu_kernels.inc"
// Constant-initialized: no code of this file runs before the caller has checked the processor.
constexpr KernelTable kTable = make_table(CpuIsa::Avx512);
}  // namespace

const KernelTable* avx512_kernels() { return &kTable; }

}  // namespace turbine::cpu
#else
namespace turbine::cpu {
const KernelTable* avx512_kernels() { return nullptr; }  // not an x86-64 build
}  // namespace turbine::cpu
#endif
