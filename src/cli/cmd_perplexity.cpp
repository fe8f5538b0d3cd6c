// `turbine perplexity MODEL FILE`: held-out perplexity by the rule of golden.json
// (kjv-llama-ppl.rule), printed as `ppl = X.XXXX`. It scores one window at a time: of the engine
// options, --cache-block-seq-len sets the KV block length, --max-prefill-token-num bounds a forward
// call's tokens, --session-len must hold a window, and --cpu-memory / --max-batch-size /
// --cache-max-entry-count are checked like everywhere else (one window's KV is all it keeps).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

constexpr int kWindow = 512;

struct PerplexityArgs {
  std::string model;
  std::string file;
  DeviceOptions device;
  EngineOptions engine;
};

void run(const PerplexityArgs& args) {
  make_engine_options(args.engine);  // the checks every command makes
  if (args.engine.session_len > 0 && args.engine.session_len < kWindow)
    fail("--session-len {}: perplexity scores windows of {} tokens; give at least {}", args.engine.session_len, kWindow,
         kWindow);
  if (std::filesystem::is_directory(args.file)) fail("{}: is a folder, not a text file", args.file);
  std::ifstream in(args.file, std::ios::binary);
  if (!in) fail("{}: cannot open", args.file);
  std::stringstream buffer;
  buffer << in.rdbuf();

  LoadedModel m = open_model_folder(args.model);
  const EngineOptions engine_flags = with_workspace_tunables(args.engine, m);
  const auto bos = m.tokenizer->bos_id ? *m.tokenizer->bos_id : m.config.bos_token_id;
  if (bos < 0)
    fail("{}: the model has no BOS token (tokenizer_config.json bos_token, config.json bos_token_id)", args.model);
  const auto stream = perplexity_stream(buffer.str(), *m.tokenizer, bos);
  if (stream.size() < 2) fail("{}: too little text to score", args.file);

  load_model_weights(m, resolve_backend(args.device, engine_flags));
  const int block_len = engine_flags.cache_block_seq_len;
  KvCache cache = m.model->allocate_kv_cache((kWindow + block_len - 1) / block_len, block_len,
                                             parse_kv_format(engine_flags.kv_quant));
  const double ppl = perplexity(*m.model, cache, stream, kWindow, engine_flags.max_prefill_token_num);
  print_stdout("ppl = {:.4f}\n", ppl);
}

}  // namespace

void register_perplexity(CLI::App& app) {
  auto args = std::make_shared<PerplexityArgs>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a text file (windows of 512 tokens)");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("FILE", args->file, "text file")->required();
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
