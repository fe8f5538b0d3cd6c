// The engine behind the Python package (python/turbine): a model folder opened, its weights on a
// backend, an Engine running, and what a Python caller needs around it (tokenizer, chat template,
// sampling defaults, sessions). No Python types here: module.cpp binds it and releases the GIL
// around every call that can wait.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "engine/engine.h"
#include "engine/engine_options.h"
#include "pipeline/model_folder.h"

namespace turbine::python {

// The engine and device options, with the CLI's names and defaults (docs/cli.md).
struct PipelineOptions {
  std::string device;  // "" = cuda when a GPU is present, else cpu
  int threads = 0;     // cpu worker threads (0 = all cores)
  int tp = 0;          // tensor-parallel ranks (0: a workspace's, else 1)
  std::string dtype;   // compute dtype: "" or "auto" = the checkpoint's on the GPU, fp32 on the CPU
  EngineOptions engine;
  size_t cpu_memory = size_t(4) << 30;
  std::string chat_template_file;  // overrides the model's template
  bool lm_head_int4 = false;       // lm_head_quant='int4' (BackendOptions::lm_head_int4)
};

class PythonPipeline {
 public:
  // Opens the folder, loads the weights and starts the engine. Throws Error naming what is wrong.
  PythonPipeline(const std::string& model, const PipelineOptions& options);
  ~PythonPipeline();

  const Tokenizer& tokenizer() const { return *model_.tokenizer; }
  std::vector<int32_t> encode(const std::string& text, bool add_bos) const;
  std::string decode(const std::vector<int32_t>& ids) const;

  bool has_chat_template() const { return chat_template_.has_value(); }
  // The template rendered over messages (a JSON array) with extra variables (a JSON object).
  std::string apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                  const std::string& template_vars_json) const;
  // A chat turn's prompt ids: the rendering encoded as the server does (special-token strings
  // become ids, no BOS added), keeping `history` (a session's cached ids) where it still spells it.
  std::vector<int32_t> chat_prompt(const std::string& messages_json, const std::string& template_vars_json,
                                   const std::vector<int32_t>& history) const;

  // The model's sampling defaults (generation_config.json; stop ids = its eos ids, plus the
  // template's end-of-turn token for chat prompts).
  SamplingParams defaults(bool chat) const;

  RequestHandle submit(std::vector<int32_t> ids, SamplingParams params, std::optional<uint64_t> session);
  uint64_t new_session_id() { return next_session_.fetch_add(1); }
  void end_session(uint64_t session_id);

  // Perplexity of each text (BOS + its ids, every token after the first scored from those before
  // it), computed on the engine thread between steps, so requests in flight go on around it.
  std::vector<double> perplexity(const std::vector<std::string>& texts);
  // Blocks until nothing is queued or running.
  void wait_idle();
  EngineCounters counters() const;
  BlockUsage block_usage() const;
  int session_len() const;
  std::string device_name() const;
  // Stops the engine (what still runs is cancelled) and frees the model; later calls throw Error.
  void close();
  bool closed() const { return !engine_; }

 private:
  Engine& engine() const;

  LoadedModel model_;
  std::optional<ChatTemplate> chat_template_;
  std::optional<int32_t> end_of_turn_;
  SamplingParams defaults_;
  std::unique_ptr<Engine> engine_;
  std::atomic<uint64_t> next_session_{1};
  int max_prefill_tokens_ = 0;  // bounds one forward call of perplexity()
};

}  // namespace turbine::python
