// The serving engine: requests from any thread, one step loop on its own thread doing continuous
// batching (scheduler), prefix caching and sessions (block manager, session table), one forward
// per step (model runner), sampling and streaming text back (text stream -> request channels).
//
// Ownership: the loop thread alone touches the scheduler, sequences, samplers and streams; other
// threads only reach the inbox (submit, end_session) and a request's channel (handles). The loop
// holds the state mutex for a whole step, so that check_invariants waits for the step's end. Readers
// that must not wait for a step (metrics, a health probe) get counters and block usage from a snapshot
// the loop publishes under a lock of its own after taking the inbox and after each step; a request's
// final event is delivered after the snapshot that counts it.
//
// Guided requests: the vocabulary trie and the table of mask caches (one per distinct grammar, shared
// by the requests that use it) are made by the first guided request; the guided mask workers, owned
// here and handed to the runner, find the guided rows' masks during each step's forward pass.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/engine_options.h"
#include "engine/step_workers.h"
#include "engine/model_runner.h"
#include "engine/request.h"
#include "engine/request_validation.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/text_stream.h"
#include "guided/guided_mask_caches.h"
#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace turbine {

struct EngineCounters {
  uint64_t steps = 0;
  uint64_t prefilled_tokens = 0;      // tokens computed as prompt (including recomputation)
  uint64_t decoded_tokens = 0;        // tokens computed one at a time while generating
  uint64_t cached_prefix_tokens = 0;  // prompt tokens whose KV was reused (prefix cache, sessions)
  uint64_t preemptions = 0;
  uint64_t step_sequences = 0;  // sequences summed over the steps (over steps: the mean batch)
  int max_step_sequences = 0;   // the most sequences one step carried
  uint64_t finished_requests = 0;
  uint64_t sessions_given_way = 0;
  uint64_t window_released_blocks = 0;  // KV blocks released once out of the model's sliding window
  uint64_t sampled_on_device = 0;       // tokens picked from device argmax or top candidates
  uint64_t sampled_full_rows = 0;       // tokens that needed their whole logits row on the host
  uint64_t guided_rows_prepared = 0;    // guided rows whose masks were found during the forward pass
  // Wall time of the engine loop's step phases: the GPU waits while the host schedules and commits.
  double schedule_seconds = 0;  // choosing the step's chunks
  double model_seconds = 0;     // forward pass and sampling (until the ids are on the host)
  double commit_seconds = 0;    // appending tokens, detokenizing, delivering to the requests
};

struct BlockUsage {
  int free = 0, active = 0, cached = 0;
};

class Engine {
 public:
  Engine(LlamaModel& model, const Tokenizer& tokenizer, const EngineOptions& options = {});
  ~Engine();  // cancels what is still running and joins the loop
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Throws Error for one that could never run (validate_request: empty, ids
  // outside the vocabulary, max_new_tokens beyond the session, more tokens than the whole cache).
  RequestHandle submit(Request request);
  // Ends a session after the turns already submitted for it; its KV is released or cached.
  void end_session(uint64_t session_id);
  // Runs `task` on the engine thread between two steps, while the model is idle (a task may run
  // forward passes of its own over its own KV cache: scoring a text, say), and waits for it; an
  // exception it throws is rethrown here. The task must not call back into the engine.
  void run_between_steps(std::function<void()> task);

  // The snapshot published after the last step (or inbox): never waits for a running step.
  EngineCounters counters() const;
  BlockUsage block_usage() const;
  // Runs the scheduler's invariant checks between steps (std::logic_error when broken).
  void check_invariants() const;
  // Blocks until nothing is queued or running.
  void wait_idle();

  int num_blocks() const { return num_blocks_; }
  int block_len() const { return options_.cache_block_seq_len; }
  KvFormat kv_format() const { return options_.kv_format; }
  int session_len() const { return session_len_; }
  // What validate_request checks a request against on this engine.
  RequestLimits limits() const;
  // The mask cache that this engine's guided requests of `grammar` (or of an equal one) share; made
  // if none is alive. For tests and measurements: its counters, its walk hook.
  std::shared_ptr<GuidedMaskCache> guided_masks(const std::shared_ptr<const JsonGrammar>& grammar);

 private:
  struct Live;
  void loop();
  void take_inbox();
  void step();
  void end_request(Live& live, RequestOutput final_event);
  void fail_everything(const std::string& message);
  void publish();
  GuidedMaskCaches& guided_caches();

  LlamaModel& model_;
  const Tokenizer& tokenizer_;
  // The vocabulary's bytes in a trie and the mask caches over it, for guided requests: made by the
  // first one (any thread), then shared.
  std::once_flag guided_once_;
  std::unique_ptr<GuidedMaskCaches> guided_caches_;
  EngineOptions options_;
  int num_blocks_ = 0;
  int session_len_ = 0;

  // Loop-thread state (guarded by state_mutex_ for readers on other threads).
  mutable std::mutex state_mutex_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<StepWorkers> step_workers_;  // null with --sampling-threads 0; the runner uses it
  std::unique_ptr<ModelRunner> runner_;
  std::map<uint64_t, std::unique_ptr<Live>> live_;
  EngineCounters counters_;
  // Final events of requests ended since the last publish(), delivered right after it.
  std::vector<std::pair<std::shared_ptr<RequestChannel>, RequestOutput>> finished_;

  // What counters() and block_usage() return, as of the last publish().
  mutable std::mutex snapshot_mutex_;
  EngineCounters published_counters_;
  BlockUsage published_blocks_;

  // Inbox (any thread).
  std::mutex inbox_mutex_;
  std::condition_variable inbox_cv_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<Live>> arrivals_;
  std::vector<uint64_t> session_ends_;
  std::vector<std::packaged_task<void()>> tasks_;
  uint64_t next_id_ = 1;
  bool busy_ = false;  // the loop has queued or running work
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace turbine
