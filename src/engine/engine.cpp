#include "engine/engine.h"

#include <algorithm>
#include <chrono>

#include "core/byte_size.h"
#include "core/error.h"
#include "engine/request_validation.h"

namespace turbine {

struct Engine::Live {
  Live(uint64_t id, Request&& r, int max_tokens, const Tokenizer& tokenizer,
       std::shared_ptr<GuidedMaskCache> guided_masks)
      : seq(id, r.ids, max_tokens, r.session_id),
        sampler(r.params, std::move(guided_masks)),
        stream(tokenizer, r.ids, r.params),
        channel(std::make_shared<RequestChannel>(std::move(r.on_output))) {}
  Sequence seq;
  Sampler sampler;
  TextStream stream;
  std::shared_ptr<RequestChannel> channel;
  bool cached_prefix_reported = false;
};

Engine::Engine(LlamaModel& model, const Tokenizer& tokenizer, const EngineOptions& options)
    : model_(model), tokenizer_(tokenizer), options_(options) {
  validate(options_);
  session_len_ = options_.session_len > 0 ? options_.session_len : model.config().max_position_embeddings;
  const int block_len = options_.cache_block_seq_len;
  if (options_.num_blocks > 0) {
    num_blocks_ = options_.num_blocks;
  } else {
    const size_t per_block = ModelRunner::block_bytes(model, block_len, options_.kv_format);
    const CacheSize& size = options_.cache_max_entry_count;
    const size_t available = model.backend().free_memory();
    // Checked before any per-block bookkeeping exists, so a huge size fails at once and costs nothing.
    if (size.bytes > available)
      fail("--cache-max-entry-count: a KV cache of {} is more than the {} the {} backend can give{}",
           format_byte_size(size.bytes), format_byte_size(available), model.backend().name(),
           model.backend().device() == Device::Cpu ? " (--cpu-memory, capped at the machine's memory)" : "");
    const size_t budget = size.bytes ? size.bytes : size_t(double(available) * size.fraction);
    num_blocks_ = int(std::min<size_t>(budget / per_block, size_t(1) << 30));
    if (num_blocks_ < 1)
      fail("--cache-max-entry-count: a KV cache of {} is less than one block ({} for {} tokens)",
           format_byte_size(budget), format_byte_size(per_block), block_len);
  }
  SchedulerOptions so;
  so.num_blocks = num_blocks_;
  so.block_len = block_len;
  so.max_batch_size = options_.max_batch_size;
  so.max_prefill_token_num = options_.max_prefill_token_num;
  so.sliding_window = model.config().sliding_window;
  scheduler_ = std::make_unique<Scheduler>(so);
  if (options_.sampling_threads > 0) step_workers_ = std::make_unique<StepWorkers>(options_.sampling_threads);
  runner_ = std::make_unique<ModelRunner>(model, num_blocks_, block_len, options_.kv_format, step_workers_.get());
  publish();
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(inbox_mutex_);
    stop_ = true;
  }
  inbox_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

GuidedMaskCaches& Engine::guided_caches() {
  // Built on the first guided request (a walk over the whole vocabulary), then shared.
  std::call_once(guided_once_, [&] {
    guided_caches_ = std::make_unique<GuidedMaskCaches>(std::make_shared<const TokenTrie>(tokenizer_));
  });
  return *guided_caches_;
}

std::shared_ptr<GuidedMaskCache> Engine::guided_masks(const std::shared_ptr<const JsonGrammar>& grammar) {
  return guided_caches().get(grammar);
}

RequestLimits Engine::limits() const { return {model_.config().vocab_size, session_len_, block_len(), num_blocks_}; }

RequestHandle Engine::submit(Request request) {
  request.params.max_new_tokens = validate_request(request.ids, request.params, limits());
  const int max_tokens = int(request.ids.size()) + *request.params.max_new_tokens;
  std::shared_ptr<GuidedMaskCache> guided_masks;
  if (request.params.guided) guided_masks = guided_caches().get(request.params.guided);
  std::unique_lock lock(inbox_mutex_);
  if (stop_) fail("engine: stopped");
  const uint64_t id = next_id_++;
  auto live = std::make_unique<Live>(id, std::move(request), max_tokens, tokenizer_, std::move(guided_masks));
  RequestHandle handle(id, live->channel);
  arrivals_.push_back(std::move(live));
  busy_ = true;
  lock.unlock();
  inbox_cv_.notify_all();
  return handle;
}

void Engine::end_session(uint64_t session_id) {
  {
    std::lock_guard lock(inbox_mutex_);
    session_ends_.push_back(session_id);
    busy_ = true;
  }
  inbox_cv_.notify_all();
}

void Engine::run_between_steps(std::function<void()> task) {
  std::packaged_task<void()> packaged(std::move(task));
  std::future<void> done = packaged.get_future();
  {
    std::lock_guard lock(inbox_mutex_);
    if (stop_) fail("engine: stopped");
    tasks_.push_back(std::move(packaged));
    busy_ = true;
  }
  inbox_cv_.notify_all();
  try {
    done.get();
  } catch (const std::future_error&) {
    fail("engine: stopped before the task ran");  // the engine was destroyed with the task queued
  }
}

EngineCounters Engine::counters() const {
  std::lock_guard lock(snapshot_mutex_);
  return published_counters_;
}

BlockUsage Engine::block_usage() const {
  std::lock_guard lock(snapshot_mutex_);
  return published_blocks_;
}

void Engine::check_invariants() const {
  std::lock_guard lock(state_mutex_);
  scheduler_->check_invariants();
}

void Engine::wait_idle() {
  std::unique_lock lock(inbox_mutex_);
  idle_cv_.wait(lock, [&] { return !busy_ || stop_; });
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock lock(inbox_mutex_);
      inbox_cv_.wait(lock, [&] { return stop_ || busy_; });
      if (stop_) break;
    }
    std::lock_guard state(state_mutex_);
    try {
      take_inbox();
      publish();
      if (scheduler_->has_work()) {
        step();
        publish();
      }
    } catch (const std::exception& e) {
      fail_everything(e.what());  // a bug: end every request with its message rather than hang
      publish();
    }
    std::lock_guard lock(inbox_mutex_);
    if (!scheduler_->has_work() && arrivals_.empty() && session_ends_.empty() && tasks_.empty()) {
      busy_ = false;
      idle_cv_.notify_all();
    }
  }
  // Stopping: everything still queued or running ends as cancelled.
  std::lock_guard state(state_mutex_);
  take_inbox();
  while (!live_.empty()) {
    RequestOutput out;
    out.finished = true;
    out.text = live_.begin()->second->stream.flush();
    live_.begin()->second->channel->set_cancelled();
    end_request(*live_.begin()->second, std::move(out));
  }
  publish();
  std::lock_guard lock(inbox_mutex_);
  busy_ = false;
  idle_cv_.notify_all();
}

void Engine::take_inbox() {
  std::vector<std::unique_ptr<Live>> arrivals;
  std::vector<uint64_t> ends;
  std::vector<std::packaged_task<void()>> tasks;
  {
    std::lock_guard lock(inbox_mutex_);
    arrivals.swap(arrivals_);
    ends.swap(session_ends_);
    tasks.swap(tasks_);
  }
  // Between steps the model and its buffers are free (a task's exception goes to its caller).
  for (auto& task : tasks) task();
  for (auto& live : arrivals) {
    Live& l = *live;
    live_.emplace(l.seq.id, std::move(live));
    scheduler_->add(&l.seq);
    if (l.seq.max_tokens == l.seq.prompt_len) {  // max_new_tokens 0: generates nothing
      RequestOutput out;
      out.finished = true;
      out.reason = FinishReason::Length;
      end_request(l, std::move(out));
    }
  }
  for (uint64_t id : ends) scheduler_->end_session(id);
  // Cancellations requested since the last step.
  std::vector<Live*> cancelled;
  for (auto& [id, live] : live_)
    if (live->channel->cancel_requested) cancelled.push_back(live.get());
  for (Live* l : cancelled) {
    RequestOutput out;
    out.finished = true;
    out.text = l->stream.flush();
    l->channel->set_cancelled();
    end_request(*l, std::move(out));
  }
}

void Engine::fail_everything(const std::string& message) {
  while (!live_.empty()) {
    Live& l = *live_.begin()->second;
    RequestOutput out;
    out.finished = true;
    out.error = "engine: " + message;
    try {
      scheduler_->finish(l.seq);
    } catch (const std::exception&) {
    }
    finished_.emplace_back(l.channel, std::move(out));
    live_.erase(live_.begin());
  }
}

void Engine::end_request(Live& live, RequestOutput final_event) {
  scheduler_->finish(live.seq);
  ++counters_.finished_requests;
  finished_.emplace_back(live.channel, std::move(final_event));
  live_.erase(live.seq.id);  // `live` is gone from here on
}

void Engine::publish() {
  const BlockManager& bm = scheduler_->block_manager();
  {
    std::lock_guard lock(snapshot_mutex_);
    published_counters_ = counters_;
    published_blocks_ = {bm.num_free(), bm.num_active(), bm.num_cached()};
  }
  // After the snapshot, so that a caller woken by its request's end reads counters that include it.
  // A callback that throws leaves the events after its own queued for the next publish.
  size_t delivered = 0;
  try {
    for (; delivered < finished_.size(); ++delivered)
      finished_[delivered].first->deliver(std::move(finished_[delivered].second));
  } catch (...) {
    finished_.erase(finished_.begin(), finished_.begin() + std::ptrdiff_t(delivered + 1));
    throw;
  }
  finished_.clear();
}

void Engine::step() {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const auto t0 = Clock::now();
  const Schedule schedule = scheduler_->schedule();
  if (schedule.chunks.empty()) throw std::logic_error("engine: work queued but nothing schedulable");
  std::vector<Live*> lives;
  std::vector<Sampler*> samplers;
  for (const ScheduledChunk& c : schedule.chunks) {
    Live* l = live_.at(c.seq->id).get();
    lives.push_back(l);
    samplers.push_back(&l->sampler);
    if (!l->cached_prefix_reported) {
      l->channel->set_cached_prefix(c.seq->num_cached_prefix);
      l->cached_prefix_reported = true;
    }
  }
  SampledRows sampled;
  const auto t1 = Clock::now();
  counters_.schedule_seconds += seconds(t0, t1);
  try {
    sampled = runner_->step(schedule, samplers);
  } catch (const std::exception& e) {
    // The step failed as a whole (e.g. the backend ran out of memory): fail its requests.
    for (Live* l : lives) {
      RequestOutput out;
      out.finished = true;
      out.error = e.what();
      end_request(*l, std::move(out));
    }
    return;
  }
  const auto t2 = Clock::now();
  counters_.model_seconds += seconds(t1, t2);
  for (const ScheduledChunk& c : schedule.chunks) scheduler_->commit(c);
  ++counters_.steps;
  counters_.step_sequences += schedule.chunks.size();
  counters_.max_step_sequences = std::max(counters_.max_step_sequences, int(schedule.chunks.size()));
  counters_.prefilled_tokens += uint64_t(schedule.num_prefill_tokens);
  counters_.decoded_tokens += uint64_t(schedule.num_decode_tokens);
  const DeviceSamplingCounts& sampling = sampled.counts;
  const std::vector<int32_t>& tokens = sampled.ids;
  counters_.sampled_on_device += uint64_t(sampling.argmax + sampling.candidates);
  counters_.sampled_full_rows += uint64_t(sampling.full_rows);
  counters_.guided_rows_prepared = runner_->guided_rows_prepared();
  for (size_t i = 0; i < schedule.chunks.size(); ++i) {
    if (tokens[i] < 0) continue;
    Live& l = *lives[i];
    scheduler_->append_token(l.seq, tokens[i]);
    const StreamStep st = l.stream.push(tokens[i]);
    RequestOutput out;
    out.token = tokens[i];
    out.show_id = st.emit_id;
    if (st.emit_id) out.logprobs = std::move(sampled.logprobs[i]);
    out.text = st.text;
    // A guided value that is complete with no stop id to end it ends here, as a stop id would.
    const bool stopped = st.finished || l.sampler.guided_done_without_stop();
    if (stopped || l.seq.num_tokens() >= l.seq.max_tokens) {
      out.finished = true;
      out.reason = st.finished ? st.reason : stopped ? FinishReason::Stop : FinishReason::Length;
      if (!st.finished) out.text += l.stream.flush();
      end_request(l, std::move(out));
    } else {
      l.channel->deliver(std::move(out));
    }
  }
  const SchedulerStats& ss = scheduler_->stats();
  counters_.preemptions = ss.preemptions;
  counters_.cached_prefix_tokens = ss.cached_prefix_tokens;
  counters_.sessions_given_way = ss.sessions_given_way;
  counters_.window_released_blocks = ss.window_released_blocks;
  if (options_.check_invariants) scheduler_->check_invariants();
  counters_.commit_seconds += seconds(t2, Clock::now());
}

}  // namespace turbine
