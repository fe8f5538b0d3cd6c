// `turbine generate MODEL --prompt TEXT [opts]`: streams the generated text (or ids with --ids).
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "cli/generate_batch.h"
#include "cli/options.h"
#include "core/error.h"
#include "engine/generator.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct GenerateArgs {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  std::optional<std::string> prompts_file;
  bool ids = false;
  DeviceOptions device;
  EngineOptions engine;
  SamplingOptions sampling;
};

std::vector<int32_t> parse_ids(const std::string& text, const char* flag) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0 || id > INT32_MAX) fail("{}: '{}' is not a token id", flag, word);
    ids.push_back(int32_t(id));
  }
  return ids;
}

void run(const GenerateArgs& args) {
  if (args.prompts_file) {
    if (args.prompt || args.prompt_ids) fail("give --prompts-file or --prompt, not both");
    return generate_prompts_file(args.model, *args.prompts_file, args.ids, args.device, args.engine, args.sampling);
  }
  if (args.prompt && args.prompt_ids) fail("give --prompt or --prompt-ids, not both");
  if (!args.prompt && !args.prompt_ids) fail("give --prompt TEXT (or --prompt-ids \"1 2 3\")");

  LoadedModel m = open_model_folder(args.model);
  std::vector<int32_t> prompt;
  if (args.prompt_ids) {
    prompt = parse_ids(*args.prompt_ids, "--prompt-ids");
  } else {
    if (m.tokenizer->add_bos && m.tokenizer->bos_id) prompt.push_back(*m.tokenizer->bos_id);
    const auto ids = m.tokenizer->encode(*args.prompt);
    prompt.insert(prompt.end(), ids.begin(), ids.end());
  }
  // Check the request before the (slow) weight upload.
  const int context = resolve_session_len(args.engine, m.config);
  if (prompt.empty()) fail("the prompt is empty");
  if (int64_t(prompt.size()) > context)
    fail("the prompt has {} tokens, longer than the context of {} tokens (max_position_embeddings or --session-len)",
         prompt.size(), context);
  for (int32_t id : prompt)
    if (id >= m.config.vocab_size)
      fail("--prompt-ids: token id {} is outside the vocabulary (0..{})", id, m.config.vocab_size - 1);
  const SamplingParams params = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);

  load_model_weights(m, resolve_backend(args.device, args.engine));
  Generator generator(*m.model, *m.tokenizer, context, args.engine.cache_block_seq_len);
  bool first_id = true;
  generator.generate(prompt, params, [&](int32_t id, const StreamStep& step) {
    if (args.ids) {
      if (!step.emit_id) return;
      std::fprintf(stdout, first_id ? "%d" : " %d", id);
      first_id = false;
    } else {
      std::fwrite(step.text.data(), 1, step.text.size(), stdout);
    }
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("--prompt", args->prompt, "prompt text (BOS is added when the tokenizer says so)");
  cmd->add_option("--prompt-ids", args->prompt_ids, "prompt as token ids, e.g. \"1 512 278\" (used as given)");
  cmd->add_option("--prompts-file", args->prompts_file,
                  "one prompt per non-empty line, all run concurrently; one output line each, in order");
  cmd->add_flag("--ids", args->ids, "print the generated token ids instead of text");
  add_sampling_options(*cmd, args->sampling);
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
