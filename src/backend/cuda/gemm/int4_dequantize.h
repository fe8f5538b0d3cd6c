// Launcher of int4_dequantize.cu: a 4-bit matrix in int4_gemm.h's packed layout written out as a dense
// [N, K] matrix in the compute dtype, each value exactly the fragment value the 4-bit kernels multiply
// with ((q - zero) * scale in that dtype). Long prefills run their 4-bit linears as this plus the
// 16-bit GEMM: the weights are then read once by a GEMM at full tensor-core rate, where the 4-bit
// kernels read them again for every 64-token tile.
#pragma once
#include <cstdint>

#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda/gemm/int4_gemm.h"

namespace turbine::cuda {

// out: n x k values of `dtype` (fp16 or bf16, the dtype the scales were packed for), 16-byte aligned.
// Returns false (nothing launched) for a dtype or layout it does not take.
bool launch_int4_dequantize(const uint32_t* packed, const uint32_t* scales, const Int4Layout& layout, DType dtype,
                            void* out, const KernelLaunch& launch);

}  // namespace turbine::cuda
