// What the route handlers share: the served model (null while it loads), the options, metrics,
// in-flight requests and /generate's sessions.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/sampling_params.h"
#include "chat/chat_template.h"
#include "text/tokenizer.h"
#include "server/metrics.h"
#include "server/request_tracker.h"
#include "server/server_options.h"
#include "server/session_registry.h"

namespace turbine::server {

struct ServedModel {
  std::string name;  // the id in /v1/models and "model"
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: chat requests are refused
  std::string chat_template_problem;            // why there is none (no template, or one that does not parse)
  SamplingParams defaults;                      // the model's generation config; stop ids = its eos ids
  std::vector<int32_t> chat_stop_ids;           // added for chat requests (the template's end of turn)
  Engine* engine = nullptr;
  int vocab_size = 0;  // the model's; /v1/models reports it (bench serve draws ids below it)
};

class ServingContext {
 public:
  explicit ServingContext(const ServerOptions& options)
      : options(options), tracker(options.max_batch_size + options.max_queue) {}

  // The model is loaded and the engine runs: requests are served from now on.
  void set_model(const ServedModel* m) { model_.store(m); }
  const ServedModel* model() const { return model_.load(); }
  // Shutting down: new generation requests get 503.
  void set_draining() { draining_ = true; }
  bool draining() const { return draining_; }

  // Renders a chat on the model's template (serialized: a template's render is not assumed reentrant).
  std::string render_chat(const ChatTemplateInput& input) {
    std::lock_guard lock(template_mutex_);
    return model()->chat_template->render(input);
  }

  const ServerOptions options;
  Metrics metrics;
  RequestTracker tracker;
  SessionRegistry sessions;

 private:
  std::atomic<const ServedModel*> model_{nullptr};
  std::atomic<bool> draining_{false};
  std::mutex template_mutex_;
};

}  // namespace turbine::server
