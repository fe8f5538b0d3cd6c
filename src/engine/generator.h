// Single-sequence generation over a LlamaModel: a KV cache just big enough for the request, one
// prefill of the prompt, then one decode step per token through Sampler and TextStream.
// (The continuous-batching engine serves many requests; this is the simple path.)
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling_params.h"
#include "engine/text_stream.h"
#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace turbine {

struct GenerationResult {
  std::vector<int32_t> ids;  // generated ids that count as output (a stop id that ended it is not)
  std::string text;          // decode(prompt+generated) minus decode(prompt), up to any stop string
  FinishReason reason = FinishReason::None;
};

// Called once per generated token with the id and what the stream made of it.
using StepCallback = std::function<void(int32_t id, const StreamStep& step)>;

class Generator {
 public:
  // context_len: the most tokens (prompt + generated) one sequence may hold (--session-len, else
  // max_position_embeddings). block_len: tokens per KV block.
  Generator(LlamaModel& model, const Tokenizer& tokenizer, int context_len, int block_len = 64);

  // Throws Error when the prompt is empty or longer than the context. Generation also ends
  // (reason Length) when the context is full.
  GenerationResult generate(std::span<const int32_t> prompt, const SamplingParams& params,
                            const StepCallback& on_step = {});

 private:
  LlamaModel& model_;
  const Tokenizer& tokenizer_;
  int context_len_;
  int block_len_;
};

}  // namespace turbine
