// The fused ops of the Backend interface as their parts run one after another: the definition
// every backend's fused kernels are tested against, and what backends without them run. The parts
// are the public ops, so each checks its own arguments as well.
#include "backend/backend.h"

namespace turbine {
namespace {

void apply_pre_norm(Backend& b, const PreNorm& pre) {
  if (pre.delta)
    b.add_rms_norm(pre.residual.current, *pre.delta, pre.weight, pre.eps, pre.normed);
  else
    b.rms_norm(pre.residual.current, pre.weight, pre.eps, pre.normed);
}

}  // namespace

void Backend::do_norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out) {
  apply_pre_norm(*this, pre);
  linear(pre.normed, weight, bias, out);
}

void Backend::do_norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& qkv,
                                     const QkvRopeStore& r, Tensor& q_out) {
  norm_linear(pre, weight, bias, qkv);
  qkv_rope_store(qkv, r.q_norm, r.k_norm, r.norm_eps, r.rope, r.shape, r.cache, r.layer, r.meta, q_out);
}

void Backend::do_norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias,
                                      Tensor& gate_up, Tensor& out) {
  norm_linear(pre, weight, bias, gate_up);
  silu_mul(gate_up, out);
}

void Backend::do_norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias,
                          const LinearWeight& down, const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp,
                          Tensor& out) {
  norm_linear_silu_mul(pre, gate_up, gate_up_bias, gate_up_out, mlp);
  linear(mlp, down, down_bias, out);
}

}  // namespace turbine
