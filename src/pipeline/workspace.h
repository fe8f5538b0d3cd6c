// A workspace: a model converted once (`turbine convert`) into the form the loader reads with no
// work left: per tensor-parallel rank one safetensors file of weights already fused and sliced
// (model/rank_weights.h), memory-mapped at load; workspace.json (format version, model attributes
// for a reader, the engine tunables, tp); and the model folder's config, tokenizer and chat
// template files beside them. docs/workspace.md describes the layout and every tunable.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/dtype.h"

namespace turbine {

// The format this build writes and the only one it reads.
constexpr int kWorkspaceVersion = 1;
// The stored form of 4-bit projections (model/rank_file_int4.h), recorded under `quantization`.
constexpr int kWorkspaceInt4Version = 1;

// The engine tunables a workspace carries (LMDeploy's names and defaults; flags given on the
// command line win over them).
struct WorkspaceTunables {
  int session_len = 0;  // 0: the model's max_position_embeddings
  int max_batch_size = 128;
  std::string cache_max_entry_count = "0.8";  // a fraction of free memory, or a size ("6GiB")
  int cache_block_seq_len = 64;
  int max_prefill_token_num = 8192;
  std::string kv_quant = "none";  // the KV cache's element format
};

struct Workspace {
  int tp = 1;
  DType dtype = DType::BF16;  // of the stored matrices
  int awq_group_size = 0;     // of the 4-bit projections of an AWQ model's workspace; 0: none
  WorkspaceTunables tunables;
};

// Whether `dir` holds a workspace (its workspace.json).
bool is_workspace(const std::filesystem::path& dir);
// Reads and checks workspace.json: the format version, the fields (the quantization's too), every
// rank file present. Error naming the file and field otherwise.
Workspace read_workspace(const std::filesystem::path& dir);
// <dir>/rank-<r>.safetensors
std::filesystem::path workspace_rank_file(const std::filesystem::path& dir, int rank);

struct ConvertOptions {
  int tp = 1;
  std::optional<DType> dtype;  // of the matrices: absent keeps the checkpoint's (config.json dtype)
  WorkspaceTunables tunables;
};

// Converts the Hugging Face folder `model_dir` into a workspace at `out_dir` (created; it must not
// exist or be empty). An AWQ model's projections are stored in 4 bits; a --tp that would cut their
// groups is an Error before anything is written. workspace.json is written last, so a folder
// without it is no workspace. progress(done, total) in bytes written. Error naming the folder,
// file or flag.
void convert_to_workspace(const std::filesystem::path& model_dir, const std::filesystem::path& out_dir,
                          const ConvertOptions& options, const std::function<void(size_t, size_t)>& progress = {});

}  // namespace turbine
