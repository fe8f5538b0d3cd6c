#include "model/rank_weights.h"

#include <fmt/format.h>

#include "core/error.h"

namespace turbine {

std::string RankTensor::name() const {
  static constexpr const char* kNames[] = {"embed_tokens", "final_norm", "lm_head",  "attn_norm", "qkv",
                                           "qkv_bias",     "o_proj",     "o_bias",   "q_norm",    "k_norm",
                                           "mlp_norm",     "gate_up",    "gate_up_bias", "down",   "down_bias",
                                           "router",       "experts_gate_up", "experts_down"};
  const char* base = kNames[int(field)];
  return layer < 0 ? std::string(base) : fmt::format("layers.{}.{}", layer, base);
}

std::vector<RankTensor> rank_tensors(const ModelConfig& c, const ShardLayout& s) {
  const int64_t H = c.hidden_size, D = c.head_dim;
  const int64_t qkv_rows = int64_t(s.q_heads + 2 * s.kv_heads) * D, q_cols = int64_t(s.q_heads) * D;
  const int64_t I = s.inter_size();
  std::vector<RankTensor> out;
  const auto add = [&](RankField f, int layer, std::vector<int64_t> shape, bool matrix) {
    out.push_back({f, layer, std::move(shape), matrix});
  };
  add(RankField::EmbedTokens, -1, {s.embed_rows(), H}, true);
  for (int l = 0; l < c.num_layers; ++l) {
    add(RankField::AttnNorm, l, {H}, false);
    add(RankField::Qkv, l, {qkv_rows, H}, true);
    if (c.qkv_bias) add(RankField::QkvBias, l, {qkv_rows}, false);
    add(RankField::OProj, l, {H, q_cols}, true);
    if (c.o_bias && s.adds_row_parallel_bias()) add(RankField::OBias, l, {H}, false);
    if (c.qk_norm) {
      add(RankField::QNorm, l, {D}, false);
      add(RankField::KNorm, l, {D}, false);
    }
    add(RankField::MlpNorm, l, {H}, false);
    if (c.is_moe_layer(l)) {  // experts are not split among ranks (shard_layout allows one)
      const int64_t E = c.moe.num_experts, EI = c.moe.expert_intermediate_size;
      add(RankField::Router, l, {E, H}, true);
      add(RankField::ExpertsGateUp, l, {E, 2 * EI, H}, true);
      add(RankField::ExpertsDown, l, {E, H, EI}, true);
      continue;
    }
    add(RankField::GateUp, l, {2 * I, H}, true);
    if (c.mlp_bias) add(RankField::GateUpBias, l, {2 * I}, false);
    add(RankField::Down, l, {H, I}, true);
    if (c.mlp_bias && s.adds_row_parallel_bias()) add(RankField::DownBias, l, {H}, false);
  }
  add(RankField::FinalNorm, -1, {H}, false);
  if (!c.tie_word_embeddings) add(RankField::LmHead, -1, {s.vocab_size(), H}, true);
  return out;
}

bool is_int4_projection(RankField field) {
  return field == RankField::Qkv || field == RankField::OProj || field == RankField::GateUp || field == RankField::Down;
}

HostInt4Matrix RankWeightSource::get_int4(const RankTensor& tensor) const {
  fail("{}: this weight source holds no 4-bit weights", tensor.name());
}

}  // namespace turbine
