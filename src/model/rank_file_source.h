// A rank's weights from a workspace's rank file (rank-<r>.safetensors), stored under the names and
// in the shapes of rank_tensors(): borrowed straight from the mapped file, nothing assembled. The
// 4-bit projections of a quantized workspace are stored as model/rank_file_int4.h says.
#pragma once
#include <filesystem>

#include "model/checkpoint.h"
#include "model/rank_file_int4.h"
#include "model/rank_weights.h"

namespace turbine {

class RankFileSource : public RankWeightSource {
 public:
  // Error naming the file when it is missing or not a valid safetensors file. int4_group_size: the
  // workspace's 4-bit group size (0: its projections are not quantized).
  explicit RankFileSource(const std::filesystem::path& file, int int4_group_size = 0)
      : checkpoint_(Checkpoint::open_file(file)), int4_group_size_(int4_group_size) {}

  HostTensor get(const RankTensor& tensor) const override {
    const TensorView& v = checkpoint_.get(tensor.name(), tensor.shape);
    return HostTensor{v.dtype, v.data, v.bytes, {}};
  }
  HostInt4Matrix get_int4(const RankTensor& tensor) const override {
    if (int4_group_size_ <= 0) return RankWeightSource::get_int4(tensor);
    return read_int4_rank_tensor(checkpoint_, tensor.name(), tensor.shape.at(0), tensor.shape.at(1), int4_group_size_);
  }
  size_t total_bytes() const override { return checkpoint_.total_bytes(); }

 private:
  Checkpoint checkpoint_;
  int int4_group_size_ = 0;
};

}  // namespace turbine
