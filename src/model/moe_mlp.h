// The mixture-of-experts MLP of a sparse decoder layer (Mixtral, Qwen3-MoE): the router's logits
// in fp32, softmax and top-k routing, and the routed SwiGLU experts summed with their weights; the
// backend's moe_route and moe_experts ops do the work.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "model/model_config.h"

namespace turbine {

struct MoeLayerWeights {
  Tensor router;   // [E, H]
  Tensor gate_up;  // [E, 2I, H]: each expert's gate rows, then its up rows
  Tensor down;     // [E, H, I]
  bool defined() const { return router.defined(); }
};

// Per-step scratch for up to `tokens` tokens (views of the first T rows are used).
struct MoeActivations {
  Tensor router_logits;  // [tokens, E] fp32
  Tensor expert_ids;     // [tokens, k] int32
  Tensor expert_weights;  // [tokens, k] fp32
};

MoeActivations make_moe_activations(Backend& backend, const MoeConfig& moe, int64_t tokens);

// out [T, H] = the experts' weighted sum for the normed hidden states x [T, H].
void run_moe_mlp(Backend& backend, const MoeConfig& moe, const MoeLayerWeights& w, const Tensor& x,
                 const MoeActivations& scratch, Tensor& out);

}  // namespace turbine
