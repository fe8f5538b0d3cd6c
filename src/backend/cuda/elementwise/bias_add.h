// Launcher of bias_add.cu: out[t, n] += bias[n] (out in `out_dtype`, bias in `bias_dtype`).
#pragma once
#include <cuda_runtime.h>

#include "core/dtype.h"

namespace turbine::cuda {

void launch_bias_add(void* out, DType out_dtype, const void* bias, DType bias_dtype, int rows, int cols,
                     cudaStream_t stream);

}  // namespace turbine::cuda
