// `turbine quantize awq`'s work: a Llama-family checkpoint's q/k/v/o/gate/up/down weights to 4-bit
// groups in AutoAWQ's GEMM layout (model/awq_format.h), the rest (embedding, norms, lm_head) kept.
// InternLM2's packed wqkv is searched as q, k and v apart and written back as one packed layer.
//  - rtn: each weight on its own, round to nearest per group (int4_groups.h);
//  - awq: the calibration tokens pass through the model layer by layer in fp32 on a CPU backend (its
//    linears on a GPU backend with QuantizeOptions::device);
//    each layer input's statistics drive the AWQ scale search (awq_search.h) for the layers that share
//    it (q|k|v after the attention norm, gate|up after the MLP norm, down after the activation, and
//    o_proj when v_proj has one row per o_proj input: not with grouped-query attention), the scales
//    fold into the op before (the norm weight, v_proj's or up_proj's rows), then the clipping search
//    (not for q and k: attention scores are sensitive to their range) and the 4-bit rounding.
// The next layer's input is the full-precision layer's output (scaling changes no function).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/model_config.h"
#include "model/safetensors_writer.h"

namespace turbine {

enum class QuantMethod { Awq, Rtn };

struct QuantizeOptions {
  QuantMethod method = QuantMethod::Awq;
  int group_size = 128;
  int threads = 0;         // CPU threads for the calibration forward and the searches (0 = all cores)
  int sequence_len = 512;  // calibration tokens per sequence
  // Where awq's fp32 products run (the forward's linears, the moments and the output errors): "cpu",
  // "cuda" or "cuda:N". The rest (norms, attention, rounding, the clipping search) stays on the CPU.
  std::string device = "cpu";
};

// progress(layers done, layers)
using QuantizeProgress = std::function<void(int, int)>;

// Fewest calibration tokens AWQ accepts.
constexpr int64_t kMinCalibrationTokens = 128;

// The quantized checkpoint's tensors (name, dtype, shape) in the order they are stored: by name. All
// are known before quantizing starts: each projection's weight becomes `.qweight`, `.qzeros` and
// `.scales`; awq rewrites in fp32 the norms and biases its scales fold into; the rest is copied as it
// is. Throws Error for a group size that does not divide a layer's inputs, a layer whose outputs are
// not a multiple of 8, or a weight that is missing or misshapen.
std::vector<SafetensorsEntry> quantized_checkpoint_layout(const ModelConfig& config, const Checkpoint& checkpoint,
                                                          const QuantizeOptions& options);

// Receives each tensor of the layout once, as soon as it is final: `data` holds entry.bytes() bytes and
// lives only during the call.
using QuantizedTensorSink = std::function<void(const SafetensorsEntry& entry, const void* data)>;

// Quantizes layer by layer and hands every tensor of quantized_checkpoint_layout to `sink`: the copied
// ones first (straight from the mapped checkpoint), then each layer's as it is done, so that memory holds
// one layer's work at a time. `calibration` (token ids, a stream cut into sequences of
// options.sequence_len) is required for awq and ignored for rtn. Throws Error as the layout does, or for
// too little calibration text.
void quantize_checkpoint(const ModelConfig& config, const Checkpoint& checkpoint,
                         const std::vector<int32_t>& calibration, const QuantizeOptions& options,
                         const QuantizedTensorSink& sink, const QuantizeProgress& progress = {});

}  // namespace turbine
