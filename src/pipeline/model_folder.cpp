#include "pipeline/model_folder.h"

#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/progress_bar.h"
#include "model/checkpoint_shard.h"
#include "model/rank_file_source.h"
#include "model/tensor_parallel_model.h"

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
  if (is_workspace(dir)) m.workspace = read_workspace(dir);
  m.config = load_model_config(dir);
  if (m.workspace && m.workspace->awq_group_size != m.config.awq_group_size)
    fail("{}: workspace.json's 4-bit group size ({}) is not config.json's ({}); convert the model again",
         dir.string(), m.workspace->awq_group_size, m.config.awq_group_size);
  m.generation = load_generation_config(dir);
  m.tokenizer = load_tokenizer(dir);
  if (!m.workspace) m.checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(dir));
  return m;
}

std::vector<std::unique_ptr<Backend>> make_rank_backends(const BackendOptions& options) {
  const int tp = options.tp;
  if (tp < 1) fail("--tp {}: the tensor-parallel size must be at least 1", tp);
  std::vector<std::unique_ptr<Backend>> backends;
  if (tp == 1 && options.devices.empty()) {
    backends.push_back(make_backend(options));
    return backends;
  }
  if (options.device == "cpu") {
    if (!options.devices.empty()) fail("--devices names GPUs; the cpu ranks are threads (--device cpu)");
    BackendOptions rank = options;
    // The ranks share the cores: each its own pool of cores / tp threads.
    const int cores = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    rank.threads = std::max(1, cores / tp);
    for (int r = 0; r < tp; ++r) backends.push_back(make_backend(rank));
    return backends;
  }
  std::vector<int> devices = options.devices;
  if (devices.empty()) {
    const int present = cuda_device_count();
    if (tp > present) fail("--tp {}: {} GPU{} present", tp, present, present == 1 ? " is" : "s are");
    for (int r = 0; r < tp; ++r) devices.push_back(r);
  }
  if (int(devices.size()) != tp) fail("--devices names {} GPUs for --tp {}", devices.size(), tp);
  for (int d : devices) {
    BackendOptions rank = options;
    rank.device = fmt::format("cuda:{}", d);
    backends.push_back(make_backend(rank));
  }
  return backends;
}

void load_model_weights(LoadedModel& m, const BackendOptions& backend_options) {
  BackendOptions options = backend_options;
  // The GPU computes in the checkpoint's half type (fp32 checkpoints in bf16) unless the caller chose a half type.
  if (options.device != "cpu" && options.dtype == DType::F32)
    options.dtype = m.config.dtype == DType::F32 ? DType::BF16 : m.config.dtype;
  if (m.workspace && options.tp > 0 && options.tp != m.workspace->tp)
    fail("--tp {}: the workspace {} holds {} rank{} (convert the model again with --tp {})", options.tp,
         m.dir.string(), m.workspace->tp, m.workspace->tp == 1 ? "" : "s", options.tp);
  if (options.tp == 0) options.tp = m.workspace ? m.workspace->tp : 1;
  shard_layout(m.config, 0, options.tp);  // a --tp that does not divide the heads fails before any backend exists
  check_int4_split(m.config, options.tp);  // nor may it cut a 4-bit group
  std::vector<std::unique_ptr<Backend>> backends = make_rank_backends(options);
  const ModelConfig& config = m.config;
  RankSources sources;
  if (m.workspace)
    sources = [&](const ShardLayout& layout) {
      return std::make_unique<RankFileSource>(workspace_rank_file(m.dir, layout.rank), m.workspace->awq_group_size);
    };
  else
    sources = [&, checkpoint = m.checkpoint.get()](const ShardLayout& layout) {
      return std::make_unique<CheckpointShard>(*checkpoint, config, layout);
    };
  ProgressBar bar("loading weights");
  const auto start = std::chrono::steady_clock::now();
  size_t bytes = 0;
  m.model = load_tensor_parallel_model(m.config, sources, backends, false, [&](size_t done, size_t total) {
    bar.update(done, total);
    bytes = total;
  });
  m.backend = std::move(backends[0]);
  if (options.lm_head_int4) m.model->quantize_lm_head();
  m.backend->synchronize();
  bar.finish();
  // The load-time figure gpu-sessions/compare_peers.sh reads (phase load).
  log(LogLevel::Info, "loaded {} bytes of weights from {} in {:.3f} s ({} rank{})", bytes,
      m.workspace ? "a workspace" : "a model folder",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), options.tp,
      options.tp == 1 ? "" : "s");
}

LoadedModel load_model_folder(const std::filesystem::path& dir, const BackendOptions& backend_options) {
  LoadedModel m = open_model_folder(dir);
  load_model_weights(m, backend_options);
  return m;
}

}  // namespace turbine
