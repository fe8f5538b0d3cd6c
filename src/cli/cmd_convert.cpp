// `turbine convert MODEL OUT_DIR`: a Hugging Face folder into a workspace (pipeline/workspace.h):
// the weights fused and sliced per tensor-parallel rank, the tunables recorded for later commands.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/progress_bar.h"
#include "backend/kv_format.h"
#include "pipeline/workspace.h"

namespace turbine::cli {

namespace {

struct ConvertArgs {
  std::string model;
  std::string out;
  int tp = 1;
  std::string dtype;
  EngineOptions engine;
};

void run(const ConvertArgs& args) {
  make_engine_options(args.engine);       // the tunables pass the checks every command applies
  parse_kv_format(args.engine.kv_quant);  // a bad format fails here, before any file is written
  ConvertOptions o;
  o.tp = args.tp;
  if (!args.dtype.empty()) {
    if (args.dtype != "fp16" && args.dtype != "bf16" && args.dtype != "fp32")
      fail("--dtype {}: expected fp16, bf16 or fp32", args.dtype);
    o.dtype = parse_dtype(args.dtype);
  }
  o.tunables.session_len = args.engine.session_len;
  o.tunables.max_batch_size = args.engine.max_batch_size;
  o.tunables.cache_max_entry_count = args.engine.cache_max_entry_count;
  o.tunables.cache_block_seq_len = args.engine.cache_block_seq_len;
  o.tunables.max_prefill_token_num = args.engine.max_prefill_token_num;
  o.tunables.kv_quant = args.engine.kv_quant;
  ProgressBar bar("converting");
  convert_to_workspace(args.model, args.out, o, [&](size_t done, size_t total) { bar.update(done, total); });
  bar.finish();
  print_stdout("wrote workspace {} (tp {})\n", args.out, args.tp);
}

}  // namespace

void register_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand("convert", "Convert a model folder into a workspace (weights laid out per --tp rank)");
  cmd->add_option("MODEL", args->model, "Hugging Face model folder")->required();
  cmd->add_option("OUT_DIR", args->out, "the workspace folder to create (new or empty)")->required();
  cmd->add_option("--tp", args->tp, "tensor-parallel ranks the workspace is laid out for")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--dtype", args->dtype, "fp16, bf16 or fp32: the stored weights' type (default: the checkpoint's)");
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
