// A rank's weights read from a Hugging Face checkpoint: q|k|v and gate|up fused and every tensor
// sliced to the rank (model/rank_weights.h). Tensors that need neither are borrowed from the
// mapped file; the others are assembled on the host.
#pragma once
#include "model/checkpoint.h"
#include "model/rank_weights.h"
#include "model/weight_names.h"

namespace turbine {

// Error naming --tp and the group size when splitting the model over `tp` ranks would cut a 4-bit
// group of a row-parallel projection (o_proj, down: each rank takes a slice of their input columns,
// which must hold whole groups). Nothing to check for a model without 4-bit weights.
void check_int4_split(const ModelConfig& config, int tp);

class CheckpointShard : public RankWeightSource {
 public:
  // Both must outlive this object.
  CheckpointShard(const Checkpoint& checkpoint, const ModelConfig& config, const ShardLayout& layout);

  HostTensor get(const RankTensor& tensor) const override;
  HostInt4Matrix get_int4(const RankTensor& tensor) const override;
  size_t total_bytes() const override;

 private:
  // Rows [begin, end) of each named tensor (full shapes checked), one after the other.
  HostTensor stacked_rows(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes,
                          const std::vector<std::pair<int64_t, int64_t>>& ranges) const;
  // The packed wqkv's head-sized blocks the rank's fused q|k|v rows come from, in that order.
  std::vector<int64_t> packed_qkv_blocks() const;
  // Rows of InternLM2's packed wqkv (or its bias) in the fused q|k|v order, the rank's heads only.
  HostTensor packed_qkv_rows(const std::string& name, int64_t cols) const;
  // The same of an AWQ InternLM2's 4-bit wqkv.
  HostInt4Matrix packed_qkv_int4(const std::string& name) const;
  // One AutoAWQ linear layer (<base>.qweight / .qzeros / .scales) of n outputs and k inputs.
  HostInt4Matrix awq_matrix(const std::string& weight_name, int64_t n, int64_t k) const;
  // Columns [begin, end) of a matrix.
  HostTensor columns(const std::string& name, const std::vector<int64_t>& shape, int64_t begin, int64_t end) const;

  const Checkpoint& checkpoint_;
  const ModelConfig& config_;
  ShardLayout layout_;
  WeightNames names_;
};

}  // namespace turbine
