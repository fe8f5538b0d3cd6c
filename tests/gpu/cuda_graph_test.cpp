// Decode steps replayed from recorded CUDA graphs against the same steps run op by op
// (CudaOptions::graphs off): batches that shrink and grow across buckets (padding rows), block tables
// that widen, and a replay of a step bit-identical to the op-by-op run that recorded it.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include "e2e/e2e_util.h"
#include "engine/decode_graphs.h"
#include "gpu_test_util.h"

namespace turbine::test {
namespace {

constexpr int kBlockLen = 16;
constexpr int kPerSeq = 8;  // blocks per sequence: up to 128 tokens

struct GpuModel {
  std::unique_ptr<LoadedModel> m;
  KvCache cache;
  std::unique_ptr<DecodeGraphs> graphs;  // every step goes through it, as the engine's runner does
};

GpuModel load(bool graphs, int sequences) {
  const auto dir = default_model_dir();
  GpuModel g;
  g.m = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir), Checkpoint::open(dir), nullptr, nullptr});
  CudaOptions cuda;
  cuda.graphs = graphs;
  g.m->backend = make_gpu(DType::BF16, cuda);
  g.m->model = std::make_unique<LlamaModel>(g.m->config, g.m->checkpoint, *g.m->backend);
  g.cache = g.m->backend->allocate_kv_cache(g.m->model->kv_cache_spec(sequences * kPerSeq, kBlockLen));
  g.graphs = std::make_unique<DecodeGraphs>(*g.m->model);
  return g;
}

// One step for the sequences in `active` (indices into lens): each feeds `feed` tokens.
BatchInput step_input(const std::vector<int>& active, const std::vector<int>& lens, int feed, int salt) {
  BatchInput in;
  for (int s : active) {
    SequenceInput seq;
    seq.context_len = lens[s];
    seq.num_tokens = feed;
    const int blocks = (lens[s] + feed + kBlockLen - 1) / kBlockLen;
    for (int b = 0; b < blocks; ++b) seq.block_table.push_back(s * kPerSeq + b);
    in.sequences.push_back(seq);
    for (int t = 0; t < feed; ++t) in.token_ids.push_back(100 + (s * 37 + lens[s] * 11 + t * 7 + salt) % 900);
  }
  return in;
}

TEST(CudaGraphs, ReplaysMatchOpByOp) {
  TURBINE_REQUIRE_GPU();
  if (!std::filesystem::exists(default_model_dir() / "model.safetensors")) GTEST_SKIP() << "no model";
  constexpr int S = 11;
  GpuModel graphed = load(true, S), plain = load(false, S);
  ASSERT_TRUE(graphed.m->backend->can_capture());
  ASSERT_FALSE(plain.m->backend->can_capture());
  const int64_t V = graphed.m->config.vocab_size;

  std::vector<int> lens(S);
  std::vector<int> all(S);
  for (int s = 0; s < S; ++s) all[s] = s;
  // Prefill prompts of different lengths (op by op in both).
  for (int s = 0; s < S; ++s) {
    const BatchInput in = step_input({s}, lens, 5 + 3 * s, 0);
    graphed.graphs->forward(in, graphed.cache);
    plain.graphs->forward(in, plain.cache);
    lens[s] += 5 + 3 * s;
  }
  // Batches across buckets: 11 -> 16 (5 padding rows), 7 -> 8, 3 -> 4, 1; sequences cross block edges.
  const std::vector<std::vector<int>> schedule = {
      all, all, all, {0, 2, 4, 6, 8, 9, 10}, {0, 2, 4, 6, 8, 9, 10}, {1, 5, 9}, {1, 5, 9}, {3}, {3}, all, all};
  double worst = 0.0;
  for (size_t k = 0; k < schedule.size(); ++k) {
    for (int repeat = 0; repeat < 3; ++repeat) {
      const BatchInput in = step_input(schedule[k], lens, 1, int(k));
      const auto a = graphed.m->backend->download_f32(graphed.graphs->forward(in, graphed.cache));
      const auto b = plain.m->backend->download_f32(plain.graphs->forward(in, plain.cache));
      ASSERT_EQ(a.size(), schedule[k].size() * V);
      ASSERT_EQ(b.size(), a.size());
      for (size_t r = 0; r < schedule[k].size(); ++r) {
        const float* ra = a.data() + r * V;
        const float* rb = b.data() + r * V;
        EXPECT_EQ(argmax(ra, V), argmax(rb, V)) << "step " << k << " row " << r;
        for (int64_t i = 0; i < V; ++i) worst = std::max(worst, double(std::abs(ra[i] - rb[i])));
      }
      // The same step again rewrites the same K/V: a replay must give the recorded run's logits exactly.
      if (repeat == 0) {
        const auto again = graphed.m->backend->download_f32(graphed.graphs->forward(in, graphed.cache));
        EXPECT_EQ(again, a) << "step " << k;
      }
    }
    for (int s : schedule[k]) ++lens[s];
  }
  EXPECT_LT(worst, 0.25) << "largest logit difference, graph vs op by op";
  EXPECT_GT(graphed.graphs->replays(), 20u);
  EXPECT_GE(graphed.graphs->recorded(), 4u);
  EXPECT_EQ(plain.graphs->replays(), 0u);
  std::printf("graphs recorded %zu, replays %llu, largest logit difference %.4f\n", graphed.graphs->recorded(),
              (unsigned long long)graphed.graphs->replays(), worst);
}

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaGraphsBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif
