// The weights one rank holds, as the forward reads them: q|k|v and gate|up fused along rows, each
// sliced to the rank's heads, intermediate rows and vocabulary rows (model/shard_layout.h). The
// list of tensors is the one contract between the loader (LlamaModel), a Hugging Face checkpoint
// sliced on the fly (CheckpointShard) and a workspace's rank file, which stores them by these names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/model_config.h"
#include "backend/backend.h"
#include "model/shard_layout.h"

namespace turbine {

// EmbedTokens, FinalNorm and LmHead are model-wide; the others exist once per layer.
enum class RankField {
  EmbedTokens,
  FinalNorm,
  LmHead,
  AttnNorm,
  Qkv,
  QkvBias,
  OProj,
  OBias,
  QNorm,
  KNorm,
  MlpNorm,
  GateUp,
  GateUpBias,
  Down,
  DownBias,
  Router,  // a sparse layer's MLP: [E, H], [E, 2I, H], [E, H, I]
  ExpertsGateUp,
  ExpertsDown
};

struct RankTensor {
  RankField field = RankField::EmbedTokens;
  int layer = -1;              // per-layer fields only
  std::vector<int64_t> shape;  // the rank's shape
  bool matrix = false;         // a linear or embedding weight (the backend's weight dtype), else a vector
  std::string name() const;    // "embed_tokens", "layers.3.qkv", ... (a workspace's tensor names)
};

// The projections an AWQ model holds in 4 bits (Qkv, OProj, GateUp, Down); the rest stay 16-bit.
bool is_int4_projection(RankField field);

// Every tensor rank `layout.rank` holds, in load order. A tied lm_head is not listed (the model
// reads the embedding's rows); the row-parallel biases belong to one rank (ShardLayout).
std::vector<RankTensor> rank_tensors(const ModelConfig& config, const ShardLayout& layout);

// A tensor's bytes on the host: borrowed from a mapped file, or assembled into `owned`.
struct HostTensor {
  DType dtype = DType::F32;
  const void* data = nullptr;
  size_t bytes = 0;
  std::vector<char> owned;
};

class RankWeightSource {
 public:
  virtual ~RankWeightSource() = default;
  // The tensor in its listed shape; Error naming the tensor and file when it is missing or differs.
  virtual HostTensor get(const RankTensor& tensor) const = 0;
  // A projection (Qkv, OProj, GateUp, Down) of an AWQ model as a host 4-bit matrix of the listed
  // shape. Sources without 4-bit weights: Error.
  virtual HostInt4Matrix get_int4(const RankTensor& tensor) const;
  // Bytes get() reads over the whole list (for a progress bar).
  virtual size_t total_bytes() const = 0;
};

}  // namespace turbine
