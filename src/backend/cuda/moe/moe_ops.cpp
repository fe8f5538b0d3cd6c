// CudaBackend's mixture-of-experts ops (moe/moe_kernels.h): routing in one kernel; the experts as
// plan (pairs grouped by expert), one grouped GEMM with SwiGLU for gate/up, one grouped GEMM for
// down and the weighted combine. Scratch comes from the pool (kept with a graph while one records),
// sized by tokens * k alone: nothing here reads the routing on the host.
#include <algorithm>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/moe/moe_kernels.h"

namespace turbine::cuda {

void CudaBackend::do_moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) {
  activate();
  launch_moe_route(logits.ptr<float>(), int(logits.dim(0)), int(logits.dim(1)), k, normalize, ids.ptr<int32_t>(),
                   weights.ptr<float>(), launch_);
}

void CudaBackend::do_moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                                 const Tensor& weights, Tensor& out) {
  activate();
  const int64_t T = x.dim(0), H = x.dim(1), E = gate_up.dim(0), I = gate_up.dim(1) / 2, k = ids.dim(1);
  if (T == 0 || H == 0) return;  // nothing to write (and a zero-width row would size the GEMM's staging by 0)
  if (E > kMaxMoeExperts) fail("cuda moe_experts: {} experts, the kernels take up to {}", E, kMaxMoeExperts);
  if (gate_up.dtype != dtype_)
    fail("cuda moe_experts: expert weights must be {} (the compute dtype), got {}", dtype_name(dtype_),
         dtype_name(gate_up.dtype));
  const int64_t pairs = T * k;
  Tensor plan = empty(DType::I32, {E + 1 + 2 * pairs});
  int32_t* offsets = plan.ptr<int32_t>();
  int32_t* sorted = offsets + E + 1;
  int32_t* position = sorted + pairs;
  Tensor mid = empty(dtype_, {pairs, I});
  Tensor y = empty(DType::F32, {pairs, H});
  launch_moe_plan(ids.ptr<int32_t>(), int(pairs), int(E), offsets, sorted, position, launch_);
  launch_moe_expert_gemm(x.data, sorted, int(k), offsets, gate_up.data, mid.data, int(E), int(I), int(H), true, dtype_,
                         launch_);
  launch_moe_expert_gemm(mid.data, nullptr, 1, offsets, down.data, y.data, int(E), int(H), int(I), false, dtype_,
                         launch_);
  launch_moe_combine(y.ptr<float>(), position, weights.ptr<float>(), out.data, int(T), int(k), int(H), dtype_,
                     launch_);
}

}  // namespace turbine::cuda
