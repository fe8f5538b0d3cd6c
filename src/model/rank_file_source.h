// A rank's weights from a workspace's rank file (rank-<r>.safetensors), stored under the names and
// in the shapes of rank_tensors(): borrowed straight from the mapped file, nothing assembled.
#pragma once
#include <filesystem>

#include "model/checkpoint.h"
#include "model/rank_weights.h"

namespace turbine {

class RankFileSource : public RankWeightSource {
 public:
  // Error naming the file when it is missing or not a valid safetensors file.
  explicit RankFileSource(const std::filesystem::path& file) : checkpoint_(Checkpoint::open_file(file)) {}

  HostTensor get(const RankTensor& tensor) const override {
    const TensorView& v = checkpoint_.get(tensor.name(), tensor.shape);
    return HostTensor{v.dtype, v.data, v.bytes, {}};
  }
  size_t total_bytes() const override { return checkpoint_.total_bytes(); }

 private:
  Checkpoint checkpoint_;
};

}  // namespace turbine
