#include "engine/sampling_defaults.h"

#include <algorithm>

namespace turbine {

SamplingParams default_sampling(const GenerationConfig& gen, const ModelConfig& config, const Tokenizer& tokenizer) {
  SamplingParams p;
  if (gen.do_sample) {
    // transformers' GenerationConfig defaults where the file is silent.
    p.temperature = float(gen.temperature.value_or(1.0));
    p.top_k = gen.top_k.value_or(50);
    p.top_p = float(gen.top_p.value_or(1.0));
    p.min_p = float(gen.min_p.value_or(0.0));
    p.repetition_penalty = float(gen.repetition_penalty.value_or(1.0));
  }
  const auto& eos = gen.eos_token_ids.empty() ? config.eos_token_ids : gen.eos_token_ids;
  for (int id : eos) p.stop_ids.push_back(id);
  if (tokenizer.eos_id) p.stop_ids.push_back(*tokenizer.eos_id);
  std::sort(p.stop_ids.begin(), p.stop_ids.end());
  p.stop_ids.erase(std::unique(p.stop_ids.begin(), p.stop_ids.end()), p.stop_ids.end());
  return p;
}

SamplingParams apply_overrides(const SamplingOverrides& o, SamplingParams p) {
  if (o.max_new_tokens) p.max_new_tokens = *o.max_new_tokens;
  if (o.temperature) p.temperature = *o.temperature;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.min_p) p.min_p = *o.min_p;
  if (o.repetition_penalty) p.repetition_penalty = *o.repetition_penalty;
  if (o.presence_penalty) p.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) p.frequency_penalty = *o.frequency_penalty;
  if (o.seed) p.seed = *o.seed;
  return p;
}

}  // namespace turbine
