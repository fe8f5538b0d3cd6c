// CudaBackend's row-wise ops: embedding lookup and gather_rows (one gather kernel), the RMSNorms and
// silu_mul, one launch each. The base class has checked the arguments (backend/op_checks.cpp).
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/elementwise/gather_rows.h"
#include "backend/cuda/elementwise/rms_norm.h"
#include "backend/cuda/elementwise/silu_mul.h"

namespace turbine::cuda {

void CudaBackend::do_embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  activate();
  launch_gather_rows(table.data, ids.ptr<int32_t>(), out.data, int(ids.numel()),
                     size_t(table.dim(1)) * dtype_size(table.dtype), int(table.dim(0)), stream_);
}

void CudaBackend::do_rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  activate();
  const int cols = int(x.dim(-1));
  launch_rms_norm(x.data, weight.data, out.data, int(x.numel() / cols), cols, eps, dtype_, launch_);
}

void CudaBackend::do_add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  activate();
  const int cols = int(x.dim(-1));
  launch_add_rms_norm(residual.data, x.data, weight.data, out.data, int(x.numel() / cols), cols, eps, dtype_, launch_);
}

void CudaBackend::do_silu_mul(const Tensor& gate_up, Tensor& out) {
  activate();
  const int inter = int(out.dim(-1));
  launch_silu_mul(gate_up.data, out.data, int(out.numel() / inter), inter, dtype_, launch_);
}

void CudaBackend::do_gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
  activate();
  const int64_t cols = x.dim(-1);
  launch_gather_rows(x.data, rows.ptr<int32_t>(), out.data, int(rows.numel()), size_t(cols) * dtype_size(x.dtype),
                     int(x.numel() / cols), stream_);
}

}  // namespace turbine::cuda
