#include "engine/decode_graphs.h"

#include <algorithm>

namespace turbine {

Tensor DecodeGraphs::forward(const BatchInput& input, KvCache& cache) {
  Backend& backend = model_.backend();
  if (backend.can_capture() && !unsupported_ && model_.replayable())
    if (const auto bucket = decode_graph_key(input)) {
      model_.check_step(input, cache);  // forward() checks the steps it runs itself
      return record_or_replay(input, *bucket, cache);
    }
  return model_.forward(input, cache);
}

void DecodeGraphs::clear() {
  graphs_.clear();
  epoch_ = model_.activation_epoch();
}

Tensor DecodeGraphs::record_or_replay(const BatchInput& input, const DecodeGraphKey& bucket, KvCache& cache) {
  Backend& backend = model_.backend();
  const KvCacheSpec& spec = cache.spec;
  const int64_t real = int64_t(input.sequences.size());
  // A step that grew the activations since the recordings were made left them pointing at freed buffers.
  if (epoch_ != model_.activation_epoch()) clear();
  BatchPlan plan =
      plan_decode_graph_batch(input, bucket, spec.block_len, spec.num_blocks, model_.config().sliding_window);
  const Key key{bucket, cache.data.data, spec.num_blocks, spec.block_len};
  if (auto it = graphs_.find(key); it != graphs_.end()) {
    backend.upload_batch_into(plan, it->second->meta);
    it->second->graph->replay();
    ++replays_;
    return logits_.rows(0, real);
  }
  // First step of this bucket: run it op by op (its result is this step's), then record the same ops.
  model_.reserve_activations(bucket.sequences);
  if (epoch_ != model_.activation_epoch()) clear();
  if (!logits_.defined() || logits_.dim(0) < bucket.sequences) {
    clear();
    logits_ = backend.empty(DType::F32, {std::max<int64_t>(bucket.sequences, 64), int64_t(model_.config().vocab_size)});
  }
  auto g = std::make_unique<Recording>();
  g->plan = std::move(plan);
  g->meta = backend.upload_batch(g->plan);
  const Tensor out = logits_.rows(0, bucket.sequences);
  model_.run_step(g->plan, g->meta, cache, &out);
  g->graph = backend.capture([&] { model_.run_step(g->plan, g->meta, cache, &out); });
  if (g->graph)
    graphs_.emplace(key, std::move(g));
  else
    unsupported_ = true;
  return logits_.rows(0, real);
}

}  // namespace turbine
