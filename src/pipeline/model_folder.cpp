#include "pipeline/model_folder.h"

#include "core/error.h"
#include "core/progress_bar.h"

namespace turbine {

namespace {

void check_folder(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) fail("{}: no such model folder", dir.string());
  if (!std::filesystem::is_directory(dir)) fail("{}: not a folder", dir.string());
}

}  // namespace

std::unique_ptr<Tokenizer> load_folder_tokenizer(const std::filesystem::path& dir) {
  check_folder(dir);
  return load_tokenizer(dir);
}

LoadedModel open_model_folder(const std::filesystem::path& dir) {
  check_folder(dir);
  LoadedModel m;
  m.dir = dir;
  m.config = load_model_config(dir);
  m.generation = load_generation_config(dir);
  m.tokenizer = load_tokenizer(dir);
  m.checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(dir));
  return m;
}

void load_model_weights(LoadedModel& m, const BackendOptions& backend_options) {
  BackendOptions options = backend_options;
  // The GPU computes in the checkpoint's half type; fp32 checkpoints run in bf16 there.
  if (options.device != "cpu") options.dtype = m.config.dtype == DType::F32 ? DType::BF16 : m.config.dtype;
  m.backend = make_backend(options);
  ProgressBar bar("loading weights");
  m.model = std::make_unique<LlamaModel>(m.config, *m.checkpoint, *m.backend,
                                         [&](size_t done, size_t total) { bar.update(done, total); });
  bar.finish();
}

LoadedModel load_model_folder(const std::filesystem::path& dir, const BackendOptions& backend_options) {
  LoadedModel m = open_model_folder(dir);
  load_model_weights(m, backend_options);
  return m;
}

}  // namespace turbine
