// What finding guided masks during the forward pass saves a step: B guided rows (greedy samplers,
// each at a state its cache has not walked) sampled the way the engine does it with
// --sampling-threads 0 (each row's mask found and applied after the forward pass, on the step thread),
// against StepWorkers of N threads started before a stand-in forward pass of F ms (a sleep: on a
// GPU the step thread waits for the device), then waited for, then the rows sampled on them. Reported: the
// step thread's time from the end of the forward pass to the last token picked (the median of the
// rounds). Three kinds of state: a value's start (few tokens fit: a short walk), a string's start
// (almost every token fits: the longest walk) and a string's start already cached (no walk: the
// apply-and-pick cost both ways share). The modes take turns round by round.
// Usage: guided_step_bench [shared_dir] [forward_ms]   (kjv-llama's 32k vocabulary, Qwen3's 151k)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/step_workers.h"
#include "engine/sampler.h"
#include "guided/json_grammar.h"
#include "text/tokenizer.h"

using namespace turbine;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRounds = 7;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Setup {
  std::shared_ptr<const TokenTrie> trie;
  std::shared_ptr<const JsonGrammar> grammar = json_object_grammar();
  std::vector<int32_t> byte_ids;  // the id of each single-byte token
  std::vector<float> logits;      // one random row, the same for every row and mode
};

// B samplers, each with a cache of its own (B requests of different grammars, as far as walks go),
// standing at `prefix`; with `cached`, their current state's set is already found.
std::vector<std::unique_ptr<Sampler>> samplers_at(const Setup& s, int rows, const std::string& prefix, bool cached) {
  std::vector<std::unique_ptr<Sampler>> out;
  SamplingParams p;
  p.guided = s.grammar;
  std::vector<float> force;
  for (int r = 0; r < rows; ++r) {
    out.push_back(std::make_unique<Sampler>(p, std::make_shared<GuidedMaskCache>(s.grammar, s.trie)));
    for (char c : prefix) {  // reach the state through single-byte tokens, each forced by its logit
      force.assign(s.logits.size(), 0.0f);
      force[size_t(s.byte_ids[uint8_t(c)])] = 1.0f;
      out.back()->sample(force, {});
    }
    if (cached) out.back()->prepare_guide();
  }
  return out;
}

// Each row's mask applied and its token picked, on `workers` where given (as the engine samples
// its host rows).
void pick_all(const Setup& s, std::vector<std::unique_ptr<Sampler>>& samplers, StepWorkers* workers = nullptr) {
  for_each_row(workers, samplers.size(), [&](size_t i) {
    std::vector<float> row = s.logits;
    samplers[i]->sample(row, {});
  });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The step thread's time after the forward pass in one round: threads 0 = serial, else overlapped.
double after_forward_ms(const Setup& s, int rows, const std::string& prefix, bool cached, int threads,
                        double forward_ms) {
  auto samplers = samplers_at(s, rows, prefix, cached);
  std::vector<Sampler*> pointers;
  for (auto& sampler : samplers) pointers.push_back(sampler.get());
  const auto forward = std::chrono::duration<double, std::milli>(forward_ms);
  if (threads == 0) {
    std::this_thread::sleep_for(forward);
    const auto t = Clock::now();
    pick_all(s, samplers);
    return ms_since(t);
  }
  StepWorkers workers(threads);
  auto warm_up = samplers_at(s, 1, "", false);
  // The threads start outside the timing, as in a running engine.
  workers.run(1, [&](size_t) { warm_up.front()->prepare_guide(); });
  workers.start(pointers.size(), [&](size_t i) { pointers[i]->prepare_guide(); });
  std::this_thread::sleep_for(forward);
  const auto t = Clock::now();
  if (workers.wait()) std::fprintf(stderr, "a preparation failed\n");
  pick_all(s, samplers, &workers);
  return ms_since(t);
}

void bench(const std::filesystem::path& dir, double forward_ms) {
  const auto tok = load_tokenizer(dir);
  Setup s;
  s.trie = std::make_shared<const TokenTrie>(*tok);
  s.byte_ids.assign(256, -1);
  for (int32_t id = 0; id < s.trie->vocab_size(); ++id)
    if (s.trie->bytes(id).size() == 1 && s.byte_ids[uint8_t(s.trie->bytes(id)[0])] < 0)
      s.byte_ids[uint8_t(s.trie->bytes(id)[0])] = id;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  s.logits.resize(size_t(tok->vocab_size()));
  for (float& x : s.logits) x = u(rng);
  const unsigned cores = std::thread::hardware_concurrency();
  std::printf("%s (%d ids), %u cores: ms of the step thread after the forward pass, B guided rows\n",
              dir.filename().c_str(), tok->vocab_size(), cores);
  const std::vector<int> modes = {0, 1, 2, 4};  // --sampling-threads
  for (double forward : {0.0, forward_ms}) {
    std::printf("  forward pass %.0f ms%s\n", forward, forward == 0 ? " (nothing to hide behind)" : "");
    std::printf("    %-22s %4s", "state", "B");
    for (int t : modes) std::printf("  threads %d", t);
    std::printf("\n");
    struct Kind {
      const char* label;
      std::string prefix;
      bool cached;
    };
    for (const Kind& k : {Kind{"value start, new", "{\"a\": ", false}, Kind{"string start, new", "{\"a\": \"", false},
                          Kind{"string start, cached", "{\"a\": \"", true}})
      for (int rows : {1, 8, 32}) {
        // The modes take turns within each round, so that the machine's drifts touch them alike.
        std::vector<std::vector<double>> times(modes.size());
        for (int round = 0; round < kRounds; ++round)
          for (size_t m = 0; m < modes.size(); ++m)
            times[m].push_back(after_forward_ms(s, rows, k.prefix, k.cached, modes[m], forward));
        std::printf("    %-22s %4d", k.label, rows);
        for (auto& t : times) std::printf(" %10.2f", median(t));
        std::printf("\n");
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path shared = argc > 1 ? argv[1] : "../shared";
  const double forward_ms = argc > 2 ? std::stod(argv[2]) : 20.0;
  bench(shared / "models" / "kjv-llama", forward_ms);
  bench(shared / "tokenizers" / "qwen3", forward_ms);
  return 0;
}
