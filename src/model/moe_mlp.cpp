#include "model/moe_mlp.h"

namespace turbine {

MoeActivations make_moe_activations(Backend& backend, const MoeConfig& moe, int64_t tokens) {
  MoeActivations a;
  if (moe.num_experts == 0) return a;
  a.router_logits = backend.empty(DType::F32, {tokens, int64_t(moe.num_experts)});
  a.expert_ids = backend.empty(DType::I32, {tokens, int64_t(moe.experts_per_token)});
  a.expert_weights = backend.empty(DType::F32, {tokens, int64_t(moe.experts_per_token)});
  return a;
}

void run_moe_mlp(Backend& backend, const MoeConfig& moe, const MoeLayerWeights& w, const Tensor& x,
                 const MoeActivations& scratch, Tensor& out) {
  const int64_t T = x.dim(0);
  Tensor logits = scratch.router_logits.rows(0, T), ids = scratch.expert_ids.rows(0, T),
         weights = scratch.expert_weights.rows(0, T);
  // The router in fp32: routing picks among near-equal logits, which 16-bit rounding would reorder.
  backend.linear(x, w.router, nullptr, logits);
  backend.moe_route(logits, moe.experts_per_token, moe.normalize_top_k, ids, weights);
  backend.moe_experts(x, w.gate_up, w.down, ids, weights, out);
}

}  // namespace turbine
