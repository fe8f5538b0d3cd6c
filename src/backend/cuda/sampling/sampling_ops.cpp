// CudaBackend's sampling ops: only ids and candidates cross to the host. The base class has
// checked the arguments (backend/op_checks.cpp), rows and temperatures included.
#include <algorithm>
#include <cstring>

#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/sampling/argmax.h"
#include "backend/cuda/sampling/repetition_penalty.h"
#include "backend/cuda/sampling/top_candidates.h"

namespace turbine::cuda {

std::vector<int32_t> CudaBackend::do_argmax_rows(const Tensor& logits) {
  activate();
  const int rows = int(logits.dim(0));
  std::vector<int32_t> ids(rows);
  if (rows == 0) return ids;
  Tensor out = empty(DType::I32, {rows});
  launch_argmax_rows(logits.ptr<float>(), rows, int(logits.dim(1)), out.ptr<int32_t>(), stream_);
  TURBINE_CUDA_CHECK(cudaMemcpyAsync(ids.data(), out.data, rows * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return ids;
}

void CudaBackend::do_repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                                        std::span<const float> penalties) {
  activate();
  const size_t n = rows.size();
  if (n == 0) return;
  // One upload: rows, ids, penalties as bits.
  std::vector<int32_t> pairs(3 * n);
  for (size_t i = 0; i < n; ++i) {
    pairs[i] = rows[i];
    pairs[n + i] = ids[i];
    std::memcpy(&pairs[2 * n + i], &penalties[i], sizeof(float));
  }
  const Tensor dev = upload(pairs.data(), DType::I32, {int64_t(3 * n)}, DType::I32);
  launch_repetition_penalty(logits.ptr<float>(), logits.dim(1), dev.ptr<int32_t>(), int(n), stream_);
}

TopCandidates CudaBackend::do_top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                             std::span<const float> temperatures, int k) {
  activate();
  // The kernel's bitonic sort holds at most kMaxCandidatesPow2 candidates.
  static_assert(kMaxTopCandidates <= kMaxCandidatesPow2, "the kernel sorts at most kMaxCandidatesPow2");
  const int64_t R = int64_t(rows.size()), V = logits.dim(1);
  TopCandidates out;
  out.rows = R;
  out.k = std::min<int64_t>(k, V);
  if (R == 0 || V == 0) return out;
  // One upload (row ids, then temperatures as bits) and one download (ids, values, max, sum).
  std::vector<int32_t> params(2 * R);
  for (int64_t r = 0; r < R; ++r) {
    params[r] = rows[r];
    std::memcpy(&params[R + r], &temperatures[r], sizeof(float));
  }
  const Tensor dev_params = upload(params.data(), DType::I32, {2 * R}, DType::I32);
  const int64_t n = R * out.k;
  Tensor result = empty(DType::I32, {2 * n + 2 * R});
  int32_t* res = result.ptr<int32_t>();
  launch_top_candidates(logits.ptr<float>(), int(V), dev_params.ptr<int32_t>(), dev_params.ptr<float>() + R, int(R),
                        int(out.k), res, reinterpret_cast<float*>(res + n), reinterpret_cast<float*>(res + 2 * n),
                        reinterpret_cast<float*>(res + 2 * n + R), stream_);
  std::vector<int32_t> host(size_t(2 * n + 2 * R));
  TURBINE_CUDA_CHECK(cudaMemcpyAsync(host.data(), res, host.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  out.ids.assign(host.begin(), host.begin() + n);
  out.values.resize(n);
  std::memcpy(out.values.data(), host.data() + n, n * sizeof(float));
  out.row_max.resize(R);
  std::memcpy(out.row_max.data(), host.data() + 2 * n, R * sizeof(float));
  out.sum_exp.resize(R);
  std::memcpy(out.sum_exp.data(), host.data() + 2 * n + R, R * sizeof(float));
  return out;
}

}  // namespace turbine::cuda
