// Turns generated ids into text as they arrive: never splits a UTF-8 character, never loses the
// space that SentencePiece attaches to a word, holds back text that may begin a stop string (the
// stop string itself is dropped unless params.include_stop_str_in_output),
// and says when generation must end (stop id, stop string, and max_new_tokens when it is set: the
// engine always sets it, resolved by validate_request).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling_params.h"
#include "text/tokenizer.h"

namespace turbine {

enum class FinishReason { None, Stop, Length };

struct StreamStep {
  std::string text;  // new text safe to show now (may be empty)
  bool finished = false;
  FinishReason reason = FinishReason::None;
  bool emit_id = true;  // false for a stop id that ends generation (not printed with --ids)
};

class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, std::span<const int32_t> prompt_ids, const SamplingParams& params);
  StreamStep push(int32_t id);
  // Text still held back when generation ends for another reason (e.g. a cancelled request).
  std::string flush();
  const std::vector<int32_t>& generated() const { return generated_; }

 private:
  // Decodes what arrived since the last read into text_ (complete characters only).
  void read_new_text(bool force);
  // Text of text_ from emitted_ up to `end`; advances emitted_.
  std::string take_text(size_t end);

  const Tokenizer& tokenizer_;
  SamplingParams params_;
  std::vector<int32_t> ids_;        // prompt + generated
  std::vector<int32_t> generated_;  // generated ids that count as output (a stop id is not one)
  size_t prompt_len_ = 0;
  // Incremental decoding over a small window (as vLLM does): ids_[prefix_offset_, read_offset_)
  // is already turned into text (its decode is prefix_text_); ids_ past read_offset_ are new.
  size_t prefix_offset_ = 0;
  size_t read_offset_ = 0;
  std::string prefix_text_;
  std::string text_;    // decode(prompt+generated) minus decode(prompt), complete chars only
  size_t emitted_ = 0;  // bytes of text_ already returned
  bool finished_ = false;
};

}  // namespace turbine
