#include "engine/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace turbine {

namespace {

// Logits of one forward call stay under this many bytes (256 tokens at a 32k vocabulary).
constexpr size_t kMaxLogitBytes = size_t(32) << 20;

// -log softmax(logits)[target], in double.
double negative_log_likelihood(const float* logits, int64_t vocab, int32_t target) {
  double max_logit = logits[0];
  for (int64_t i = 1; i < vocab; ++i) max_logit = std::max(max_logit, double(logits[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - max_logit);
  return -(double(logits[target]) - max_logit - std::log(sum));
}

}  // namespace

PerplexityResult evaluate_perplexity(LlamaModel& model, KvCache& cache, std::span<const int32_t> stream, int window,
                                     int max_chunk_tokens) {
  if (window < 2) fail("perplexity: the window must be at least 2 tokens, got {}", window);
  if (stream.size() < 2) fail("perplexity: the evaluation text gives {} tokens; at least 2 are needed", stream.size());
  const int block_len = cache.spec.block_len;
  const int blocks_needed = (window + block_len - 1) / block_len;
  if (cache.spec.num_blocks < blocks_needed)
    fail("perplexity: the KV cache has {} blocks of {} tokens; a window of {} needs {}", cache.spec.num_blocks,
         block_len, window, blocks_needed);
  const int64_t vocab = model.config().vocab_size;
  size_t chunk_tokens = std::max<size_t>(1, kMaxLogitBytes / (size_t(vocab) * sizeof(float)));
  if (max_chunk_tokens > 0) chunk_tokens = std::min(chunk_tokens, size_t(max_chunk_tokens));
  Backend& backend = model.backend();

  SequenceInput seq;
  seq.all_logits = true;
  for (int b = 0; b < blocks_needed; ++b) seq.block_table.push_back(b);

  PerplexityResult r;
  for (size_t start = 0; start + 1 < stream.size(); start += size_t(window)) {
    const auto tokens = stream.subspan(start, std::min(stream.size() - start, size_t(window)));
    if (tokens.size() < 2) break;
    ++r.windows;
    for (size_t done = 0; done < tokens.size(); done += chunk_tokens) {
      const size_t n = std::min(tokens.size() - done, chunk_tokens);
      BatchInput input;
      input.token_ids.assign(tokens.begin() + done, tokens.begin() + done + n);
      seq.context_len = int32_t(done);
      seq.num_tokens = int32_t(n);
      input.sequences = {seq};
      const Tensor out = model.forward(input, cache);
      // Host tensors are read in place; device logits are copied down.
      std::vector<float> host;
      if (out.device != Device::Cpu || out.dtype != DType::F32) host = backend.download_f32(out);
      const float* logits = host.empty() ? out.ptr<float>() : host.data();
      // Row i predicts token done + i + 1 (the window's last row predicts nothing).
      for (size_t i = 0; i < n && done + i + 1 < tokens.size(); ++i) {
        const int32_t target = tokens[done + i + 1];
        if (target < 0 || target >= vocab) fail("perplexity: token id {} is outside the vocabulary", target);
        r.total_nll += negative_log_likelihood(logits + i * vocab, vocab, target);
        ++r.scored_tokens;
      }
    }
  }
  r.perplexity = std::exp(r.total_nll / double(r.scored_tokens));
  return r;
}

double perplexity(LlamaModel& model, KvCache& cache, std::span<const int32_t> stream, int window,
                  int max_chunk_tokens) {
  return evaluate_perplexity(model, cache, stream, window, max_chunk_tokens).perplexity;
}

}  // namespace turbine
