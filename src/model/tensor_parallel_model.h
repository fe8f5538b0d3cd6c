// Loading a model over several ranks: one backend per rank, their communicators, each rank's
// weights from its own source, and rank 0's LlamaModel driving the others (model/tensor_parallel_group.h).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/llama_model.h"
#include "model/rank_weights.h"

namespace turbine {

// Rank layout.rank's weights (a Hugging Face checkpoint sliced on the fly, or a workspace's rank file).
using RankSources = std::function<std::unique_ptr<RankWeightSource>(const ShardLayout& layout)>;

// backends[r] runs rank r; backends[0] stays the caller's (the returned model uses it), the others
// move into the model. One backend and `through_communicator` false is the single-device model;
// with it true, one rank still talks through a communicator (to exercise NCCL on one GPU).
// Progress counts the bytes of every rank. Throws Error naming --tp when the heads do not divide.
std::unique_ptr<LlamaModel> load_tensor_parallel_model(const ModelConfig& config, const RankSources& sources,
                                                       std::vector<std::unique_ptr<Backend>>& backends,
                                                       bool through_communicator, const LoadProgress& progress = {});

}  // namespace turbine
