// Held-out perplexity with non-overlapping windows (the rule of golden.json's kjv-llama-ppl):
// windows = stream[s : s + window] for s = 0, window, 2*window, ... (a last shorter window counts
// when it has at least 2 tokens); each window is a fresh sequence whose tokens after the first
// are scored from the tokens before them; ppl = exp(total NLL / scored tokens).
#pragma once
#include <cstdint>
#include <span>

#include "model/llama_model.h"

namespace turbine {

struct PerplexityResult {
  double perplexity = 0.0;
  double total_nll = 0.0;
  int64_t scored_tokens = 0;
  int64_t windows = 0;
};

// The caller builds `stream` (BOS + ids per chapter, concatenated). `cache` must hold one window
// (ceil(window / block_len) blocks); windows are prefilled in chunks of at most max_chunk_tokens
// (0: no limit but the logits' memory, which always bounds them). Chunking changes no result
// beyond floating-point rounding.
PerplexityResult evaluate_perplexity(LlamaModel& model, KvCache& cache, std::span<const int32_t> stream, int window,
                                     int max_chunk_tokens = 0);

// Just the perplexity.
double perplexity(LlamaModel& model, KvCache& cache, std::span<const int32_t> stream, int window,
                  int max_chunk_tokens = 0);

}  // namespace turbine
