// Shared set-up for the end-to-end model tests: load a model folder on the CPU backend, read
// golden.json, and run greedy steps over simple per-sequence block tables.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "support/test_paths.h"

namespace turbine::test {

inline const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    std::ifstream in(shared_dir() / "golden" / "golden.json");
    return nlohmann::json::parse(in);
  }();
  return g;
}

inline std::filesystem::path model_dir(const std::string& name) {
  return name == "kjv-llama" ? default_model_dir() : shared_dir() / "models" / name;
}

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

// Teacher forcing under golden.json's margin rule: argmaxes[i] is the argmax after token i of
// prompt + greedy ids; every step whose margin is at least `tol` must pick the golden id, and more
// than half of the steps must be checked.
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
  EXPECT_GT(checked, int(greedy.size()) / 2);
}

}  // namespace turbine::test
