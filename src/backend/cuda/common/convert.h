// Launcher of convert.cu: dst[i] = (to) src[i] for F32/F16/BF16 in either direction.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "core/dtype.h"

namespace turbine::cuda {

void launch_convert(const void* src, DType from, void* dst, DType to, size_t n, cudaStream_t stream);

}  // namespace turbine::cuda
