// Tokenizers in Hugging Face's tokenizer.json format: byte-level BPE (Llama 3, Qwen) and
// SentencePiece-style BPE with byte fallback (Llama 2 / Mistral as HF ships them).
#pragma once
#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace turbine {

// Loads <dir>/tokenizer.json (and special-token settings from tokenizer_config.json when present).
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir);

}  // namespace turbine
