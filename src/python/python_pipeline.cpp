#include "python/python_pipeline.h"

#include <algorithm>
#include <cstdlib>

#include "backend/cuda_options.h"
#include "chat/chat_end_of_turn.h"
#include "chat/chat_prompt.h"
#include "core/error.h"
#include "core/log.h"
#include "engine/perplexity.h"
#include "engine/sampling_defaults.h"
#include "pipeline/compute_dtype.h"

namespace turbine::python {

namespace {

nlohmann::ordered_json parse_json(const std::string& text, const char* what) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not JSON ({})", what, e.what());
  }
}

std::optional<ChatTemplate> open_template(const LoadedModel& m, const std::string& file) {
  if (!file.empty()) {
    try {
      return read_chat_template_file(file);
    } catch (const Error& e) {
      fail("chat_template {}", e.what());
    }
  }
  try {
    return load_chat_template(m.dir, m.tokenizer->config);
  } catch (const Error&) {
    return std::nullopt;  // message prompts are refused with a clear error; text prompts still work
  }
}

}  // namespace

PythonPipeline::PythonPipeline(const std::string& model, const PipelineOptions& options) {
  validate(options.engine);
  model_ = open_model_folder(model);
  chat_template_ = open_template(model_, options.chat_template_file);
  if (chat_template_) end_of_turn_ = chat_end_of_turn_token(*chat_template_, *model_.tokenizer);
  defaults_ = default_sampling(model_.generation, model_.config, *model_.tokenizer);
  BackendOptions backend;
  backend.device = options.device.empty() ? (cuda_available() ? "cuda" : "cpu") : options.device;
  backend.threads = options.threads;
  backend.tp = options.tp;
  backend.memory_budget = options.cpu_memory;
  backend.dtype = resolve_compute_dtype(options.dtype, backend.device, "dtype");
  backend.lm_head_int4 = options.lm_head_int4;
  // The CUDA switches have no keyword here: their environment variables (docs/cli.md) apply, as they do
  // for a command given none of their flags, and each one applied is logged.
  if (backend.device != "cpu") {
    std::vector<std::string> applied;
    backend.cuda = resolve_cuda_options({}, [](const char* name) -> const char* { return std::getenv(name); }, &applied);
    for (const auto& a : applied) log(LogLevel::Warning, "using {} from the environment (a CUDA option's fallback)", a);
  }
  load_model_weights(model_, backend);
  engine_ = std::make_unique<Engine>(*model_.model, *model_.tokenizer, options.engine);
  max_prefill_tokens_ = options.engine.max_prefill_token_num;
}

PythonPipeline::~PythonPipeline() { close(); }

void PythonPipeline::close() { engine_.reset(); }

Engine& PythonPipeline::engine() const {
  if (!engine_) fail("the pipeline is closed");
  return *engine_;
}

std::vector<int32_t> PythonPipeline::encode(const std::string& text, bool add_bos) const {
  return add_bos ? model_.tokenizer->encode_prompt(text) : model_.tokenizer->encode(text);
}

std::string PythonPipeline::decode(const std::vector<int32_t>& ids) const {
  for (int32_t id : ids)
    if (id < 0 || id >= model_.tokenizer->vocab_size())
      fail("token id {} is outside the vocabulary (0..{})", id, model_.tokenizer->vocab_size() - 1);
  return model_.tokenizer->decode(ids);
}

std::string PythonPipeline::apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                                const std::string& template_vars_json) const {
  if (!chat_template_) fail("the model has no chat template; give chat_template= (a Jinja file) to turbine.pipeline");
  ChatTemplateInput in = chat_template_input(model_.tokenizer->config);
  in.messages = parse_json(messages_json, "messages");
  if (!in.messages.is_array()) fail("messages: must be a list of messages");
  in.add_generation_prompt = add_generation_prompt;
  const nlohmann::ordered_json vars = parse_json(template_vars_json, "chat_template_kwargs");
  if (!vars.is_object()) fail("chat_template_kwargs: must be an object");
  for (const auto& [name, value] : vars.items()) in.extra_vars[name] = value;
  return chat_template_->render(in);
}

std::vector<int32_t> PythonPipeline::chat_prompt(const std::string& messages_json,
                                                 const std::string& template_vars_json,
                                                 const std::vector<int32_t>& history) const {
  const std::string rendered = apply_chat_template(messages_json, true, template_vars_json);
  // The rendering writes its own BOS where the template has one (special-token strings become ids).
  if (history.empty()) return encode(rendered, false);
  return chat_prompt_ids(*model_.tokenizer, history, rendered).ids;
}

SamplingParams PythonPipeline::defaults(bool chat) const {
  SamplingParams p = defaults_;
  if (chat && end_of_turn_ && std::find(p.stop_ids.begin(), p.stop_ids.end(), *end_of_turn_) == p.stop_ids.end())
    p.stop_ids.push_back(*end_of_turn_);
  return p;
}

RequestHandle PythonPipeline::submit(std::vector<int32_t> ids, SamplingParams params, std::optional<uint64_t> session) {
  Request r;
  r.ids = std::move(ids);
  r.params = std::move(params);
  r.session_id = session;
  return engine().submit(std::move(r));
}

void PythonPipeline::end_session(uint64_t session_id) {
  if (engine_) engine_->end_session(session_id);
}

std::vector<double> PythonPipeline::perplexity(const std::vector<std::string>& texts) {
  Engine& e = engine();
  std::vector<std::vector<int32_t>> streams;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> ids = encode(texts[i], false);
    const Tokenizer& t = *model_.tokenizer;
    const int32_t bos = t.bos_id ? *t.bos_id : model_.config.bos_token_id;
    if (bos >= 0) ids.insert(ids.begin(), bos);
    if (ids.size() < 2) fail("text {}: too short to score (it needs at least 2 tokens with BOS)", i);
    if (int(ids.size()) > e.session_len())
      fail("text {}: {} tokens, longer than the session of {} (session_len)", i, ids.size(), e.session_len());
    streams.push_back(std::move(ids));
  }
  std::vector<double> out(streams.size());
  LlamaModel& model = *model_.model;
  const int block_len = e.block_len(), max_chunk = max_prefill_tokens_;
  e.run_between_steps([&] {
    for (size_t i = 0; i < streams.size(); ++i) {
      const int n = int(streams[i].size());
      KvCache cache = model.allocate_kv_cache((n + block_len - 1) / block_len, block_len, e.kv_format());
      out[i] = turbine::perplexity(model, cache, streams[i], n, max_chunk);
    }
  });
  return out;
}

void PythonPipeline::wait_idle() { engine().wait_idle(); }
EngineCounters PythonPipeline::counters() const { return engine().counters(); }
BlockUsage PythonPipeline::block_usage() const { return engine().block_usage(); }
int PythonPipeline::session_len() const { return engine().session_len(); }
std::string PythonPipeline::device_name() const { return model_.backend ? model_.backend->name() : ""; }

}  // namespace turbine::python
