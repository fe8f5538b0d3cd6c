// Decode steps as recorded graphs where the backend has them: a pure decode step is padded to a
// bucket (engine/decode_graph_batch.h); the first step of a bucket runs op by op and is recorded,
// later ones refill the recording's batch arrays and replay it. Every other step, and every step
// on a backend that records nothing, runs LlamaModel::forward. Owned by whoever drives the steps
// (the engine's ModelRunner, bench generate); one recording runs at a time.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "engine/decode_graph_batch.h"
#include "model/llama_model.h"

namespace turbine {

class DecodeGraphs {
 public:
  explicit DecodeGraphs(LlamaModel& model) : model_(model) {}

  // LlamaModel::forward's contract: logits [rows, vocab] fp32 on the device. A replayed step's
  // logits live in a buffer the next step overwrites.
  Tensor forward(const BatchInput& input, KvCache& cache);

  // Steps served by a replay, and recordings held (for tests and stats).
  uint64_t replays() const { return replays_; }
  size_t recorded() const { return graphs_.size(); }

 private:
  struct Recording {
    BatchPlan plan;  // the recorded step's plan (meta.plan points here until the next upload)
    BatchMeta meta;  // device arrays the recording reads; each replay refills them
    std::unique_ptr<StepGraph> graph;
  };
  // A recording bakes in buffer addresses and the cache geometry: keyed by both.
  using Key = std::tuple<DecodeGraphKey, const void*, int, int>;  // bucket, cache data, blocks, block_len

  Tensor record_or_replay(const BatchInput& input, const DecodeGraphKey& bucket, KvCache& cache);
  // Drops every recording (they point at buffers that moved or are about to).
  void clear();

  LlamaModel& model_;
  std::map<Key, std::unique_ptr<Recording>> graphs_;
  Tensor logits_;             // [rows, vocab] fp32, shared by all recordings
  uint64_t epoch_ = 0;        // the model's activation_epoch() the recordings point into
  bool unsupported_ = false;  // the backend recorded nothing once: stop asking
  uint64_t replays_ = 0;
};

}  // namespace turbine
