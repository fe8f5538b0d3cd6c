// What the GPU end-to-end model tests share: a model folder loaded in bf16 on the GPU, and teacher
// forcing of every golden case (prompt + greedy ids as one input, all logits) under the margin rule.
#pragma once
#include <filesystem>
#include <memory>

#include "e2e/e2e_util.h"
#include "gpu_test_util.h"

namespace turbine::test {

inline std::unique_ptr<LoadedModel> load_gpu_model(const std::filesystem::path& dir) {
  auto m = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr});
  m->backend = make_gpu(DType::BF16);
  m->model = std::make_unique<LlamaModel>(m->config, m->checkpoint, *m->backend);
  return m;
}

inline void expect_teacher_forced_cases(LoadedModel& m, const nlohmann::json& cases, int block_len, double tol) {
  const int64_t V = m.config.vocab_size;
  for (const auto& c : cases) {
    const std::vector<int32_t> ids = teacher_forcing_ids(c);
    const int blocks = int((ids.size() + block_len - 1) / block_len);
    KvCache cache = m.backend->allocate_kv_cache(m.model->kv_cache_spec(blocks, block_len));
    BatchInput in;
    in.token_ids = ids;
    in.sequences.push_back({0, int32_t(ids.size()), block_range(0, blocks), true});
    const auto logits = m.backend->download_f32(m.model->forward(in, cache));
    ASSERT_EQ(logits.size(), ids.size() * V);
    std::vector<int> argmaxes;
    for (size_t i = 0; i < ids.size(); ++i) argmaxes.push_back(argmax(logits.data() + i * V, V));
    expect_teacher_forced(c, argmaxes, tol);
  }
}

}  // namespace turbine::test
