// Everything `generate`, `chat` and `perplexity` need from a model folder, loaded in one call:
// config, generation defaults, tokenizer, checkpoint, backend and the model on it.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/generation_config.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "pipeline/workspace.h"
#include "text/tokenizer.h"

namespace turbine {

struct LoadedModel {
  std::filesystem::path dir;
  ModelConfig config;
  GenerationConfig generation;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<Workspace> workspace;      // when `dir` is a workspace (its weights are its rank files)
  std::unique_ptr<Checkpoint> checkpoint;  // a Hugging Face folder's (null for a workspace)
  std::unique_ptr<Backend> backend;
  std::unique_ptr<LlamaModel> model;  // declared last: destroyed before the backend it uses
};

// Reads config, generation config and tokenizer and opens the checkpoint (cheap: nothing is
// uploaded yet, so callers can validate a request first). `dir` is a Hugging Face folder or a
// workspace (pipeline/workspace.h). Throws Error naming the folder or file.
LoadedModel open_model_folder(const std::filesystem::path& dir);
// Creates the backend (one per tensor-parallel rank: backend_options.tp, else the workspace's tp,
// else 1) and uploads the weights, with a progress bar on stderr only when stderr is a terminal.
// On the GPU the compute dtype is the checkpoint's; the CPU computes in fp32.
void load_model_weights(LoadedModel& m, const BackendOptions& backend_options);
// Both of the above.
LoadedModel load_model_folder(const std::filesystem::path& dir, const BackendOptions& backend_options);

// The folder's tokenizer alone, with an Error naming the folder when it does not exist.
std::unique_ptr<Tokenizer> load_folder_tokenizer(const std::filesystem::path& dir);

}  // namespace turbine
