#include "model/tensor_parallel_model.h"

#include <stdexcept>

#include "backend/communicator.h"
#include "model/tensor_parallel_group.h"

namespace turbine {

std::unique_ptr<LlamaModel> load_tensor_parallel_model(const ModelConfig& config, const RankSources& sources,
                                                       std::vector<std::unique_ptr<Backend>>& backends,
                                                       bool through_communicator, const LoadProgress& progress) {
  const int size = int(backends.size());
  if (size < 1) throw std::logic_error("load_tensor_parallel_model: no backend");
  std::vector<ShardLayout> layouts;
  for (int r = 0; r < size; ++r) layouts.push_back(shard_layout(config, r, size));  // all checked before loading
  std::vector<std::unique_ptr<RankWeightSource>> rank_sources;
  size_t total = 0;
  for (int r = 0; r < size; ++r) {
    rank_sources.push_back(sources(layouts[size_t(r)]));
    total += rank_sources.back()->total_bytes();
  }
  size_t before = 0;  // bytes of the ranks already loaded
  const auto rank_progress = [&](size_t done, size_t) {
    if (progress) progress(std::min(before + done, total), total);
  };
  if (size == 1 && !through_communicator)
    return std::make_unique<LlamaModel>(config, *rank_sources[0], *backends[0], layouts[0], nullptr, rank_progress);

  std::vector<Backend*> raw;
  for (auto& b : backends) raw.push_back(b.get());
  std::vector<std::unique_ptr<Communicator>> comms = make_communicators(raw);
  std::vector<std::unique_ptr<LlamaModel>> models;
  std::unique_ptr<LlamaModel> rank0;
  for (int r = 0; r < size; ++r) {
    auto m = std::make_unique<LlamaModel>(config, *rank_sources[size_t(r)], *backends[size_t(r)], layouts[size_t(r)],
                                          comms[size_t(r)].get(), rank_progress);
    before += rank_sources[size_t(r)]->total_bytes();
    if (r == 0)
      rank0 = std::move(m);
    else
      models.push_back(std::move(m));
  }
  std::vector<std::unique_ptr<Backend>> owned;  // the group owns ranks 1..; rank 0's stays with the caller
  owned.push_back(nullptr);
  for (int r = 1; r < size; ++r) owned.push_back(std::move(backends[size_t(r)]));
  backends.resize(1);
  auto group = std::make_unique<TensorParallelGroup>(std::move(owned), std::move(comms));
  group->set_models(std::move(models));
  rank0->drive(std::move(group));
  return rank0;
}

}  // namespace turbine
