// Runs one scheduled step on the model: builds the BatchInput (new tokens, context lengths,
// block tables) from the scheduled chunks, runs it over the engine's KV cache (decode steps as
// recorded graphs where the backend has them: engine/decode_graphs.h), and samples the next token
// of every chunk that reaches its sequence's end. With step workers, the masks of the guided rows are
// found on them while the forward pass runs, and the rows sampled on the host are sampled on them.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "engine/decode_graphs.h"
#include "engine/device_sampling.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/step_workers.h"
#include "model/llama_model.h"

namespace turbine {

class ModelRunner {
 public:
  // Allocates the KV cache: num_blocks blocks of block_len tokens stored as `format`.
  // workers: where guided masks are prepared during the forward pass and host rows are sampled after
  // it (not owned; null: on the step thread, inside sampling).
  ModelRunner(LlamaModel& model, int num_blocks, int block_len, KvFormat format, StepWorkers* workers = nullptr);

  // Bytes one KV block (all layers) takes for this model in `format` (to size the cache).
  static size_t block_bytes(const LlamaModel& model, int block_len, KvFormat format);

  // samplers[i] belongs to schedule.chunks[i]. Returns, per chunk, the sampled token or -1 for a
  // chunk that does not reach its sequence's end (ids), its logprobs where asked, and how rows were
  // sampled (counts). A preparation that fails fails the step as a mask failure inside sampling would.
  SampledRows step(const Schedule& schedule, std::span<Sampler* const> samplers);

  const DecodeGraphs& graphs() const { return graphs_; }
  // Guided rows whose masks were prepared on the workers, over all steps.
  uint64_t guided_rows_prepared() const { return guided_rows_prepared_; }

 private:
  LlamaModel& model_;
  KvCache cache_;
  DecodeGraphs graphs_;
  StepWorkers* workers_ = nullptr;
  uint64_t guided_rows_prepared_ = 0;
};

}  // namespace turbine
