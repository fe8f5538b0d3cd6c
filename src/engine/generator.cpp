#include "engine/generator.h"

#include <numeric>

#include "core/error.h"
#include "engine/device_sampling.h"
#include "engine/sampler.h"

namespace turbine {

Generator::Generator(LlamaModel& model, const Tokenizer& tokenizer, int context_len, int block_len)
    : model_(model), tokenizer_(tokenizer), context_len_(context_len), block_len_(block_len) {
  if (context_len_ <= 0) fail("the context length must be positive (got {})", context_len_);
  if (block_len_ <= 0) fail("--cache-block-seq-len must be positive (got {})", block_len_);
}

GenerationResult Generator::generate(std::span<const int32_t> prompt, const SamplingParams& params,
                                     const StepCallback& on_step) {
  if (prompt.empty()) fail("the prompt is empty (no BOS and no tokens)");
  const int64_t prompt_len = int64_t(prompt.size());
  if (prompt_len > context_len_)
    fail("the prompt has {} tokens, longer than the context of {} tokens (max_position_embeddings or --session-len)",
         prompt_len, context_len_);
  const int32_t vocab = model_.config().vocab_size;
  for (int32_t id : prompt)
    if (id < 0 || id >= vocab) fail("prompt token id {} is outside the vocabulary (0..{})", id, vocab - 1);

  // Room for every token this request can hold: the prompt plus what it may generate, capped by
  // the context. Blocks are contiguous (block table 0, 1, 2, ...).
  const int64_t budget = params.max_new_tokens > 0 ? params.max_new_tokens : context_len_;
  const int64_t max_tokens = std::min<int64_t>(context_len_, prompt_len + budget);
  const int num_blocks = int((max_tokens + block_len_ - 1) / block_len_);
  KvCache cache = model_.backend().allocate_kv_cache(model_.kv_cache_spec(num_blocks, block_len_));
  std::vector<int32_t> block_table(num_blocks);
  std::iota(block_table.begin(), block_table.end(), 0);

  Sampler sampler(params);
  TextStream stream(tokenizer_, prompt, params);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  GenerationResult result;

  auto step = [&](std::span<const int32_t> new_tokens, int32_t context_len) {
    BatchInput input;
    input.token_ids.assign(new_tokens.begin(), new_tokens.end());
    SequenceInput seq;
    seq.context_len = context_len;
    seq.num_tokens = int32_t(new_tokens.size());
    const int32_t needed = (context_len + seq.num_tokens + block_len_ - 1) / block_len_;
    seq.block_table.assign(block_table.begin(), block_table.begin() + needed);
    input.sequences.push_back(std::move(seq));
    return model_.forward(input, cache);
  };
  // The next token, sampled with the logits left on the device (see device_sampling.h).
  Sampler* const samplers[] = {&sampler};
  auto next = [&](Tensor& logits) {
    const std::span<const int32_t> histories[] = {history};
    return sample_on_device(model_.backend(), logits, samplers, histories)[0];
  };

  Tensor logits = step(prompt, 0);
  while (true) {
    const int32_t id = next(logits);
    StreamStep s = stream.push(id);
    history.push_back(id);
    // The context is full: this token is the last one it can hold.
    if (!s.finished && int64_t(history.size()) >= context_len_) {
      s.text += stream.flush();
      s.finished = true;
      s.reason = FinishReason::Length;
    }
    result.text += s.text;
    if (on_step) on_step(id, s);
    if (s.finished) {
      result.reason = s.reason;
      break;
    }
    logits = step(std::span<const int32_t>(&id, 1), int32_t(history.size()) - 1);
  }
  result.ids = stream.generated();
  return result;
}

}  // namespace turbine
