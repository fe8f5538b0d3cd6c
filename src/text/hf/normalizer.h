// tokenizer.json "normalizer": rewrites text before pre-tokenization (NFC, Prepend("▁"),
// Replace(" ", "▁"), Lowercase, Strip, StripAccents, Sequence). Offsets are not tracked: the
// engine needs ids, not alignments.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace turbine::hf {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8 and stays so.
  virtual void normalize(std::string& text) const = 0;
};

// nullptr for a null spec (no normalizer). Throws Error naming `where` for unknown types.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const std::string& where);

}  // namespace turbine::hf
