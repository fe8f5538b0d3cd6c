// Turns generated ids into text as they arrive: never splits a UTF-8 character, never loses the
// space that SentencePiece attaches to a word, holds back text that may begin a stop string,
// and says when generation must end (stop id, stop string, max tokens).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling_params.h"
#include "model/tokenizer.h"

namespace turbine {

enum class FinishReason { None, Stop, Length };

struct StreamStep {
  std::string text;       // new text safe to show now (may be empty)
  bool finished = false;
  FinishReason reason = FinishReason::None;
  bool emit_id = true;    // false for a stop id that ends generation (not printed with --ids)
};

class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, std::span<const int32_t> prompt_ids, const SamplingParams& params);
  StreamStep push(int32_t id);
  // Text still held back when generation ends for another reason (e.g. a cancelled request).
  std::string flush();
  const std::vector<int32_t>& generated() const { return generated_; }

 private:
  const Tokenizer& tokenizer_;
  SamplingParams params_;
  std::vector<int32_t> ids_;        // prompt + generated
  std::vector<int32_t> generated_;
  size_t prompt_len_ = 0;
  std::string decoded_prompt_;      // decode(prompt)
  std::string text_;                // decode(prompt+generated) minus decode(prompt), complete chars only
  size_t emitted_ = 0;              // bytes of text_ already returned
};

}  // namespace turbine
