#include "engine/model_runner.h"

#include <exception>
#include <stdexcept>

#include "engine/device_sampling.h"

namespace turbine {

ModelRunner::ModelRunner(LlamaModel& model, int num_blocks, int block_len, KvFormat format, StepWorkers* workers)
    : model_(model),
      cache_(model.allocate_kv_cache(num_blocks, block_len, format)),
      graphs_(model),
      workers_(workers) {}

size_t ModelRunner::block_bytes(const LlamaModel& model, int block_len, KvFormat format) {
  return model.kv_block_bytes(block_len, format);
}

SampledRows ModelRunner::step(const Schedule& schedule, std::span<Sampler* const> samplers) {
  if (samplers.size() != schedule.chunks.size()) throw std::logic_error("runner: one sampler per chunk");
  BatchInput input;
  input.sequences.reserve(schedule.chunks.size());
  // Only chunks that reach their sequence's end get a logits row, in chunk order.
  std::vector<size_t> sampling_chunks;
  std::vector<SamplingRow> rows;
  std::vector<Sampler*> guided;  // sampled this step: their masks can be found during the forward
  for (size_t i = 0; i < schedule.chunks.size(); ++i) {
    const ScheduledChunk& c = schedule.chunks[i];
    const Sequence& seq = *c.seq;
    SequenceInput s;
    s.context_len = seq.num_computed;
    s.num_tokens = c.num_tokens;
    s.block_table = seq.block_table;
    s.logits = c.samples;
    input.sequences.push_back(std::move(s));
    input.token_ids.insert(input.token_ids.end(), seq.tokens.begin() + seq.num_computed,
                           seq.tokens.begin() + seq.num_computed + c.num_tokens);
    if (c.samples) {
      sampling_chunks.push_back(i);
      rows.push_back({samplers[i], seq.tokens, size_t(seq.prompt_len)});
      if (samplers[i]->guided()) guided.push_back(samplers[i]);
    }
  }
  // The samplers must not be used, nor freed by a failed step, while a worker prepares them: the
  // guard waits for the workers on every way out of the forward pass.
  struct WaitForWorkers {
    StepWorkers* workers = nullptr;
    ~WaitForWorkers() {
      if (workers) workers->wait();
    }
  } prepared;
  if (workers_ && !guided.empty()) {
    prepared.workers = workers_;
    workers_->start(guided.size(), [guided](size_t i) { guided[i]->prepare_guide(); });
    guided_rows_prepared_ += guided.size();
  }
  Tensor logits = graphs_.forward(input, cache_);
  if (prepared.workers) {
    prepared.workers = nullptr;
    // Thrown here, inside the step, it fails the step as the same failure inside sampling does.
    if (const std::exception_ptr failed = workers_->wait()) std::rethrow_exception(failed);
  }
  if (logits.rank() != 2 || size_t(logits.dim(0)) != sampling_chunks.size())
    throw std::logic_error("runner: one logits row per sampling chunk");
  SampledRows result;
  result.ids.assign(schedule.chunks.size(), -1);
  result.logprobs.resize(schedule.chunks.size());
  if (sampling_chunks.empty()) return result;
  SampledRows sampled = sample_on_device(model_.backend(), logits, rows, workers_);
  for (size_t j = 0; j < sampling_chunks.size(); ++j) {
    result.ids[sampling_chunks[j]] = sampled.ids[j];
    result.logprobs[sampling_chunks[j]] = std::move(sampled.logprobs[j]);
  }
  result.counts = sampled.counts;
  return result;
}

}  // namespace turbine
