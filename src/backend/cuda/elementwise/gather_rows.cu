// Row gather by index: the embedding lookup and the selection of rows that need logits.
#include <algorithm>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/common/device_math.cuh"
#include "backend/cuda/elementwise/gather_rows.h"

namespace turbine::cuda {
namespace {

// One block per output row; Word is uint4 when rows are 16-byte multiples, else a byte.
template <typename Word>
__global__ void gather_rows_kernel(const Word* src, const int32_t* rows, Word* dst, size_t row_words, int src_rows) {
  const int r = blockIdx.x;
  const int32_t s = rows[r];
  Word* out = dst + size_t(r) * row_words;
  if (s < 0 || s >= src_rows) {  // an id the table lacks: zeros rather than a wild read
    for (size_t i = threadIdx.x; i < row_words; i += blockDim.x) out[i] = Word{};
    return;
  }
  const Word* in = src + size_t(s) * row_words;
  for (size_t i = threadIdx.x; i < row_words; i += blockDim.x) out[i] = in[i];
}

}  // namespace

void launch_gather_rows(const void* src, const int32_t* rows, void* dst, int num_rows, size_t row_bytes, int src_rows,
                        cudaStream_t stream) {
  if (num_rows == 0 || row_bytes == 0) return;
  const bool wide = row_bytes % 16 == 0 && aligned16({src, dst});
  if (wide) {
    const size_t words = row_bytes / 16;
    const int threads = int(std::min<size_t>(256, (words + 31) / 32 * 32));
    gather_rows_kernel<uint4><<<num_rows, threads, 0, stream>>>(static_cast<const uint4*>(src), rows,
                                                                static_cast<uint4*>(dst), words, src_rows);
  } else {
    gather_rows_kernel<uint8_t><<<num_rows, 256, 0, stream>>>(static_cast<const uint8_t*>(src), rows,
                                                              static_cast<uint8_t*>(dst), row_bytes, src_rows);
  }
  TURBINE_CUDA_LAUNCH_CHECK();
}

}  // namespace turbine::cuda
