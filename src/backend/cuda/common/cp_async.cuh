// Asynchronous global-to-shared copies (cp.async, sm_80 and later), shared by the kernels that stream
// through shared-memory rings (the flash prefill's key tiles, the 4-bit GEMV's weights). Completion is
// tracked per thread in commit groups, not on the scoreboard, so many copies can be in flight at once.
// Each asm clobbers memory, so the compiler moves no shared-memory access across a copy or a wait (a
// thread that reads back its own copies needs no barrier after the wait).
#pragma once
#include <cstdint>

namespace turbine::cuda {

// 16-byte async copy; with valid false the destination is zero-filled and nothing is read.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile(
      "cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(static_cast<uint32_t>(__cvta_generic_to_shared(dst))),
      "l"(src), "r"(valid ? 16 : 0)
      : "memory");
}
// The same for a 4-byte word.
__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
  asm volatile(
      "cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(static_cast<uint32_t>(__cvta_generic_to_shared(dst))),
      "l"(src), "r"(valid ? 4 : 0)
      : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's commit groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

}  // namespace turbine::cuda
