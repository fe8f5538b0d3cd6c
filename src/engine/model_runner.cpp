#include "engine/model_runner.h"

#include <stdexcept>

namespace turbine {

ModelRunner::ModelRunner(LlamaModel& model, int num_blocks, int block_len)
    : model_(model), cache_(model.backend().allocate_kv_cache(model.kv_cache_spec(num_blocks, block_len))) {}

size_t ModelRunner::block_bytes(const LlamaModel& model, int block_len) {
  return model.kv_cache_spec(1, block_len).bytes();
}

std::vector<int32_t> ModelRunner::step(const Schedule& schedule, std::span<Sampler* const> samplers) {
  if (samplers.size() != schedule.chunks.size()) throw std::logic_error("runner: one sampler per chunk");
  BatchInput input;
  input.sequences.reserve(schedule.chunks.size());
  for (const ScheduledChunk& c : schedule.chunks) {
    const Sequence& seq = *c.seq;
    SequenceInput s;
    s.context_len = seq.num_computed;
    s.num_tokens = c.num_tokens;
    s.block_table = seq.block_table;
    input.sequences.push_back(std::move(s));
    input.token_ids.insert(input.token_ids.end(), seq.tokens.begin() + seq.num_computed,
                           seq.tokens.begin() + seq.num_computed + c.num_tokens);
  }
  Tensor logits_dev = model_.forward(input, cache_);
  const std::vector<float> logits = model_.backend().download_f32(logits_dev);
  const size_t vocab = size_t(logits_dev.dim(-1));
  if (logits.size() != vocab * schedule.chunks.size()) throw std::logic_error("runner: one logits row per sequence");
  std::vector<int32_t> tokens(schedule.chunks.size(), -1);
  for (size_t i = 0; i < schedule.chunks.size(); ++i) {
    if (!schedule.chunks[i].samples) continue;
    std::vector<float> row(logits.begin() + i * vocab, logits.begin() + (i + 1) * vocab);
    tokens[i] = samplers[i]->sample(row, schedule.chunks[i].seq->tokens);
  }
  return tokens;
}

}  // namespace turbine
