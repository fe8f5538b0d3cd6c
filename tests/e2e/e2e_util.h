// Shared set-up for the end-to-end model tests: load a model folder on the CPU backend, read
// golden.json, run greedy steps over simple per-sequence block tables, and check golden.json's
// margin rules.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/checkpoint_shard.h"
#include "model/model_config.h"
#include "model/tensor_parallel_model.h"
#include "support/safetensors_writer.h"
#include "support/test_paths.h"

namespace turbine::test {

inline const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    std::ifstream in(shared_dir() / "golden" / "golden.json");
    return nlohmann::json::parse(in);
  }();
  return g;
}

// An InternLM2-layout copy of kjv-llama (../shared/scripts/make_internlm2.py; the same function, so
// kjv-llama's goldens hold for it), made once per process (ctest runs each test in its own).
// TURBINE_INTERNLM2_COPY names a copy made beforehand (a test binary carried to a machine without numpy).
inline std::filesystem::path internlm2_copy() {
  static const std::filesystem::path dir = [] {
    if (const char* made = std::getenv("TURBINE_INTERNLM2_COPY"); made && *made) return std::filesystem::path(made);
    const auto out = temp_dir("internlm2") / "kjv-internlm2";
    const std::string cmd = "/usr/bin/python3 " + (shared_dir() / "scripts" / "make_internlm2.py").string() + " " +
                            default_model_dir().string() + " " + out.string() + " > /dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    return out;
  }();
  return dir;
}

// "kjv-internlm2" names the InternLM2 copy of kjv-llama.
inline std::filesystem::path model_dir(const std::string& name) {
  if (name == "kjv-internlm2") return internlm2_copy();
  return name == "kjv-llama" ? default_model_dir() : shared_dir() / "models" / name;
}

// The golden.json entry a model is checked against (the InternLM2 copy: kjv-llama's).
inline std::string golden_key(const std::string& name) { return name == "kjv-internlm2" ? "kjv-llama" : name; }

struct LoadedModel {
  ModelConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<LlamaModel> model;
};

inline std::unique_ptr<LoadedModel> load_cpu_model(const std::filesystem::path& dir, int threads = 2) {
  auto m = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr});
  BackendOptions o;
  o.threads = threads;
  m->backend = make_backend(o);
  m->model = std::make_unique<LlamaModel>(m->config, m->checkpoint, *m->backend);
  return m;
}

// The model over `tp` CPU ranks (threads of this process sharing `threads` cores), rank 0 driving.
// `through_communicator` (tp 1 only; more ranks always use one): the one rank still all-reduces and gathers.
inline std::unique_ptr<LoadedModel> load_cpu_model_tp(const std::filesystem::path& dir, int tp, int threads = 2,
                                                      bool through_communicator = false) {
  auto m = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr});
  BackendOptions o;
  o.threads = std::max(1, threads / tp);
  std::vector<std::unique_ptr<Backend>> backends;
  for (int r = 0; r < tp; ++r) backends.push_back(make_backend(o));
  const LoadedModel& l = *m;
  m->model = load_tensor_parallel_model(
      m->config, [&](const ShardLayout& s) { return std::make_unique<CheckpointShard>(l.checkpoint, l.config, s); },
      backends, tp > 1 || through_communicator);
  m->backend = std::move(backends[0]);
  return m;
}

// Sequence s owns blocks [s * per_seq, (s + 1) * per_seq).
inline std::vector<int32_t> block_range(int s, int per_seq) {
  std::vector<int32_t> t(per_seq);
  for (int i = 0; i < per_seq; ++i) t[i] = s * per_seq + i;
  return t;
}

inline int argmax(const float* row, int64_t n) {
  int best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best]) best = int(i);
  return best;
}

// prompt + greedy ids of a golden case: what the teacher-forcing checks feed the model.
inline std::vector<int32_t> teacher_forcing_ids(const nlohmann::json& c) {
  auto ids = c.at("prompt_ids").get<std::vector<int32_t>>();
  const auto greedy = c.at("greedy_ids").get<std::vector<int32_t>>();
  ids.insert(ids.end(), greedy.begin(), greedy.end());
  return ids;
}

// Teacher forcing under golden.json's margin rule: argmaxes[i] is the argmax after token i of
// prompt + greedy ids; every step whose margin is at least `tol` must pick the golden id, and at
// least one step must be checked (at the GPU's 0.5 the tiny MoE models clear it on 18 of 40 steps).
inline void expect_teacher_forced(const nlohmann::json& c, const std::vector<int>& argmaxes, double tol) {
  const auto prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
  const auto greedy = c.at("greedy_ids").get<std::vector<int32_t>>();
  const auto margins = c.at("margins").get<std::vector<double>>();
  ASSERT_EQ(argmaxes.size(), prompt.size() + greedy.size());
  int checked = 0;
  for (size_t i = 0; i < greedy.size(); ++i) {
    if (margins[i] < tol) continue;
    EXPECT_EQ(argmaxes[prompt.size() - 1 + i], greedy[i]) << c.at("prompt") << " step " << i;
    ++checked;
  }
  EXPECT_GT(checked, 0) << c.at("prompt") << ": no step's margin reaches " << tol;
}

// Free greedy generation of every golden case in one batch: the prompts are prefilled together, then
// each sequence decodes one token per step, for as many steps as the longest greedy reference.
// `pick` turns a step's logits (one row per sequence, on the model's backend) into the next ids; by
// default the backend's argmax_rows.
using PickNext = std::function<std::vector<int32_t>(const Tensor& logits)>;
inline std::vector<std::vector<int32_t>> batched_greedy(LoadedModel& m, const nlohmann::json& cases, int block_len,
                                                        const PickNext& pick = {}) {
  const int S = int(cases.size());
  std::vector<std::vector<int32_t>> seqs;
  size_t steps = 0, longest = 0;
  for (const auto& c : cases) {
    seqs.push_back(c.at("prompt_ids").get<std::vector<int32_t>>());
    steps = std::max(steps, c.at("greedy_ids").size());
    longest = std::max(longest, seqs.back().size());
  }
  const int per_seq = int((longest + steps + block_len - 1) / block_len);
  KvCache cache = m.model->allocate_kv_cache(S * per_seq, block_len);
  std::vector<std::vector<int32_t>> got(S);
  for (size_t step = 0; step < steps; ++step) {
    BatchInput in;
    for (int s = 0; s < S; ++s) {
      const int32_t context = step == 0 ? 0 : int32_t(seqs[s].size()) - 1;
      in.token_ids.insert(in.token_ids.end(), seqs[s].begin() + context, seqs[s].end());
      in.sequences.push_back({context, int32_t(seqs[s].size()) - context, block_range(s, per_seq), false});
    }
    const Tensor logits = m.model->forward(in, cache);
    const std::vector<int32_t> next = pick ? pick(logits) : m.backend->argmax_rows(logits);
    EXPECT_EQ(next.size(), size_t(S));
    if (next.size() != size_t(S)) break;
    for (int s = 0; s < S; ++s) {
      got[s].push_back(next[s]);
      seqs[s].push_back(next[s]);
    }
  }
  return got;
}

// The reference for engine tests: greedy decoding of one sequence straight through the forward,
// every KV block kept (block table 0, 1, 2, ...), `n` tokens, EOS ignored.
inline std::vector<int32_t> forward_greedy(LlamaModel& model, std::vector<int32_t> ids, int n, int block_len = 16) {
  const int blocks = int((ids.size() + size_t(n) + size_t(block_len) - 1) / size_t(block_len));
  KvCache cache = model.allocate_kv_cache(blocks, block_len);
  std::vector<int32_t> got;
  int32_t context = 0;
  while (int(got.size()) < n) {
    BatchInput in;
    in.token_ids.assign(ids.begin() + context, ids.end());
    const int32_t total = int32_t(ids.size());
    in.sequences.push_back({context, total - context, block_range(0, (total + block_len - 1) / block_len), false});
    const int32_t next = model.backend().argmax_rows(model.forward(in, cache))[0];
    got.push_back(next);
    ids.push_back(next);
    context = total;
  }
  return got;
}

// Each golden case decoded alone through forward_greedy, as many tokens as its greedy reference.
inline std::vector<std::vector<int32_t>> greedy_each_alone(LlamaModel& model, const nlohmann::json& cases,
                                                           int block_len) {
  std::vector<std::vector<int32_t>> got;
  for (const auto& c : cases)
    got.push_back(forward_greedy(model, c.at("prompt_ids").get<std::vector<int32_t>>(),
                                 int(c.at("greedy_ids").size()), block_len));
  return got;
}

// golden.json's margin rule for free generation: each case's ids must equal the reference up to its
// first step whose margin is below `tol`; at least one step must be compared.
inline void expect_greedy_margin_rule(const nlohmann::json& cases, const std::vector<std::vector<int32_t>>& got,
                                      double tol) {
  ASSERT_EQ(got.size(), cases.size());
  int compared = 0;
  for (size_t s = 0; s < cases.size(); ++s) {
    const auto want = cases[s].at("greedy_ids").get<std::vector<int32_t>>();
    const auto margins = cases[s].at("margins").get<std::vector<double>>();
    size_t n = 0;
    while (n < margins.size() && margins[n] >= tol) ++n;
    ASSERT_GE(got[s].size(), n);
    for (size_t i = 0; i < n; ++i, ++compared)
      ASSERT_EQ(got[s][i], want[i]) << cases[s].at("prompt") << " step " << i << " of " << n;
  }
  EXPECT_GT(compared, 0);
}

}  // namespace turbine::test
