// Placeholder until the tokenizer.json implementation lands.
#include "model/hf_tokenizer.h"

#include "core/error.h"

namespace turbine {

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir) {
  fail("{}: tokenizer.json is not supported yet", (dir / "tokenizer.json").string());
}

}  // namespace turbine
