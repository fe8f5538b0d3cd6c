// Tokenizers in Hugging Face's tokenizer.json format: byte-level BPE (Llama 3, Qwen) and
// SentencePiece-style BPE with byte fallback (Llama 2 / Mistral as HF ships them).
#pragma once
#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace turbine {

// Loads <dir>/tokenizer.json; BOS/EOS settings from `config` (the folder's tokenizer_config.json), with
// tokenizer.json's post_processor as the fallback for whether prompts start with BOS.
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir, const TokenizerConfig& config);
// The same, reading the folder's tokenizer_config.json itself.
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir);

}  // namespace turbine
