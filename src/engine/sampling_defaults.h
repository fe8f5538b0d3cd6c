// A model's default SamplingParams: generation_config.json's sampling settings (used only where
// it sets do_sample: true, with transformers' defaults where it is silent; otherwise greedy) and
// the stop set: generation_config's eos ids (config.json's when it has none) plus the tokenizer's eos.
#pragma once
#include "engine/sampling_params.h"
#include "model/generation_config.h"
#include "model/model_config.h"
#include "text/tokenizer.h"

namespace turbine {

// `defaults` with every field that `overrides` sets.
SamplingParams apply_overrides(const SamplingOverrides& overrides, SamplingParams defaults);

SamplingParams default_sampling(const GenerationConfig& generation, const ModelConfig& config,
                                const Tokenizer& tokenizer);

}  // namespace turbine
