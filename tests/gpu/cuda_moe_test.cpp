// The mixture-of-experts ops and models on the GPU: moe_route and moe_experts against the CPU
// reference on awkward shapes (widths off the 16-byte path, chunks of fewer than 8 staged rows,
// experts no token picks, all pairs on one expert, ids outside the experts, one token and a
// prefill's 2048, Qwen3-30B-A3B's widths), top-k ties and NaN rows ordered as the CPU orders them,
// a decode step recorded in a graph and replayed with new routing, and mixtral-tiny,
// qwen3-moe-tiny and the InternLM2 copy of kjv-llama end to end in bf16 against golden.json
// (margin rule at 0.5 alone and batched, perplexity within 0.5% of the bf16 reference).
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "gpu_model_util.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

class CudaMoeOps : public CpuVsGpu {
 protected:
  CudaMoeOps() : CpuVsGpu(77) {}
};

std::vector<int32_t> download_ids(Backend& b, const Tensor& t) {
  const auto f = b.download_f32(t);
  return std::vector<int32_t>(f.begin(), f.end());
}

TEST_P(CudaMoeOps, RouteMatchesCpu) {
  for (const bool normalize : {false, true}) {
    for (const auto& [T, E, k] : {std::tuple{1, 4, 2}, {7, 8, 2}, {33, 128, 8}, {5, 3, 3}, {130, 60, 1}}) {
      const auto logits = random_values(rng, size_t(T * E), DType::F32, -4, 4);
      Tensor lc = put(*cpu, logits, {T, E}, DType::F32), lg = put(*gpu, logits, {T, E}, DType::F32);
      Tensor ic = cpu->empty(DType::I32, {T, k}), wc = cpu->empty(DType::F32, {T, k});
      Tensor ig = gpu->empty(DType::I32, {T, k}), wg = gpu->empty(DType::F32, {T, k});
      cpu->moe_route(lc, k, normalize, ic, wc);
      gpu->moe_route(lg, k, normalize, ig, wg);
      EXPECT_EQ(download_ids(*gpu, ig), download_ids(*cpu, ic)) << T << "x" << E << " k " << k;
      const auto got = gpu->download_f32(wg), want = cpu->download_f32(wc);
      TURBINE_EXPECT_CLOSE(got, want, 1e-5);
    }
  }
}

// Exact ties (logits drawn from three values): the lower expert first among equal probabilities,
// as the CPU orders them, down to k = E. A row with one NaN logit and a row of -inf have NaN
// probabilities throughout: both backends then take experts 0..k-1 (weights NaN).
TEST_P(CudaMoeOps, RouteOrdersTiesAsCpu) {
  for (const bool normalize : {false, true}) {
    for (const auto& [T, E, k] : {std::tuple{9, 8, 3}, {17, 33, 8}, {64, 128, 8}, {4, 40, 40}}) {
      SCOPED_TRACE(testing::Message() << T << "x" << E << " k " << k << " normalize " << normalize);
      std::uniform_int_distribution<int> pick(0, 2);
      const float levels[] = {-1.0f, 0.0f, 0.5f};
      std::vector<float> logits(size_t(T * E));
      for (auto& v : logits) v = levels[pick(rng)];
      logits[size_t((T - 2) * E + E / 2)] = std::nanf("");
      std::fill(logits.end() - E, logits.end(), -INFINITY);
      Tensor lc = put(*cpu, logits, {T, E}, DType::F32), lg = put(*gpu, logits, {T, E}, DType::F32);
      Tensor ic = cpu->empty(DType::I32, {T, k}), wc = cpu->empty(DType::F32, {T, k});
      Tensor ig = gpu->empty(DType::I32, {T, k}), wg = gpu->empty(DType::F32, {T, k});
      cpu->moe_route(lc, k, normalize, ic, wc);
      gpu->moe_route(lg, k, normalize, ig, wg);
      const auto want_ids = download_ids(*cpu, ic);
      EXPECT_EQ(download_ids(*gpu, ig), want_ids);
      for (int j = 0; j < k; ++j) {  // the NaN rows: experts in order
        EXPECT_EQ(want_ids[size_t((T - 2) * k + j)], j);
        EXPECT_EQ(want_ids[size_t((T - 1) * k + j)], j);
      }
      const auto got = gpu->download_f32(wg), want = cpu->download_f32(wc);
      const size_t finite = size_t((T - 2) * k);
      TURBINE_EXPECT_CLOSE(std::vector<float>(got.begin(), got.begin() + finite),
                           std::vector<float>(want.begin(), want.begin() + finite), 1e-5);
      for (size_t i = finite; i < got.size(); ++i) EXPECT_TRUE(std::isnan(got[i])) << "weight " << i;
    }
  }
}

// moe_experts on both backends over a given routing, against the CPU. The GPU gets gpu_ids, which
// may hold ids outside 0..E-1 (it skips those slots); the CPU gets cpu_ids and cpu_weights.
void expect_experts_match(Backend& cpu, Backend& gpu, DType dtype, int64_t H, int64_t I, int64_t E, int64_t k,
                          const std::vector<int32_t>& cpu_ids, const std::vector<float>& cpu_weights,
                          const std::vector<int32_t>& gpu_ids, const std::vector<float>& gpu_weights,
                          std::mt19937& rng) {
  const int64_t T = int64_t(cpu_ids.size()) / k;
  const auto x = random_values(rng, size_t(T * H), dtype);
  const auto gate_up = random_values(rng, size_t(E * 2 * I * H), dtype, -0.3f, 0.3f);
  const auto down = random_values(rng, size_t(E * H * I), dtype, -0.3f, 0.3f);
  Tensor oc = cpu.empty(DType::F32, {T, H});
  cpu.moe_experts(put(cpu, x, {T, H}, DType::F32), put(cpu, gate_up, {E, 2 * I, H}, DType::F32),
                  put(cpu, down, {E, H, I}, DType::F32), cpu.upload(cpu_ids.data(), DType::I32, {T, k}, DType::I32),
                  put(cpu, cpu_weights, {T, k}, DType::F32), oc);
  Tensor og = gpu.empty(dtype, {T, H});
  gpu.moe_experts(put(gpu, x, {T, H}, dtype), put(gpu, gate_up, {E, 2 * I, H}, dtype), put(gpu, down, {E, H, I}, dtype),
                  gpu.upload(gpu_ids.data(), DType::I32, {T, k}, DType::I32), put(gpu, gpu_weights, {T, k}, DType::F32),
                  og);
  const auto got = gpu.download_f32(og), want = cpu.download_f32(oc);
  TURBINE_EXPECT_CLOSE(got, want, relative_tolerance(dtype));
}

// Widths not a multiple of 8 take the scalar path; rows of 4100 and 4104 elements leave room for 5
// staged rows (a chunk below 8, scalar and 16-byte paths); 256 tokens x 8 fill many chunks per
// expert; 64 tokens at Qwen3-30B-A3B's widths (hidden 2048, experts of 768, top-8) is its decode
// batch; 2048 tokens x 8 over 128 experts is a prefill's plan (16384 pairs, ~16 chunks an expert).
TEST_P(CudaMoeOps, ExpertsMatchCpu) {
  for (const auto& [T, H, I, E, k] :
       {std::tuple{1, 64, 32, 8, 2}, {3, 24, 40, 16, 4}, {16, 256, 192, 8, 2}, {5, 30, 18, 5, 2},
        {256, 128, 96, 32, 8}, {2, 64, 64, 128, 8}, {12, 4104, 40, 4, 2}, {10, 4100, 24, 3, 2},
        {64, 2048, 768, 16, 8}, {2048, 64, 32, 128, 8}}) {
    SCOPED_TRACE(testing::Message() << "T " << T << " H " << H << " I " << I << " E " << E << " k " << k);
    const auto logits = random_values(rng, size_t(T * E), DType::F32, -2, 2);
    Tensor lc = put(*cpu, logits, {T, E}, DType::F32);
    Tensor ic = cpu->empty(DType::I32, {T, k}), wc = cpu->empty(DType::F32, {T, k});
    cpu->moe_route(lc, k, true, ic, wc);
    const auto ids = download_ids(*cpu, ic);
    const auto weights = cpu->download_f32(wc);
    expect_experts_match(*cpu, *gpu, dtype, H, I, E, k, ids, weights, ids, weights, rng);
  }
}

// Every pair routed to the last expert (offsets[E] bounds its rows; 80 rows are 10 chunks) and all
// the others empty; then ids outside 0..E-1 (-1, E, a large id; every seventh token has no valid
// slot, so its row is 0), which the GPU skips: the CPU reference sees them as expert 0, weight 0.
TEST_P(CudaMoeOps, ExpertsOneExpertAndSkippedIds) {
  const int64_t H = 72, I = 48, E = 6, k = 2, T = 40;
  std::uniform_real_distribution<float> weight(0.1f, 1.0f);
  std::vector<int32_t> last(size_t(T * k), int32_t(E - 1));
  std::vector<float> weights(size_t(T * k));
  for (auto& w : weights) w = weight(rng);
  {
    SCOPED_TRACE("all pairs on the last expert");
    expect_experts_match(*cpu, *gpu, dtype, H, I, E, k, last, weights, last, weights, rng);
  }
  std::uniform_int_distribution<int32_t> expert(0, int32_t(E - 1));
  std::vector<int32_t> gpu_ids(size_t(T * k)), cpu_ids(size_t(T * k));
  std::vector<float> cpu_weights = weights;
  const int32_t outside[] = {-1, int32_t(E), 1 << 20};
  for (size_t i = 0; i < gpu_ids.size(); ++i) {
    if (i % 3 == 1 || i / k % 7 == 3) {
      gpu_ids[i] = outside[i % 3];
      cpu_ids[i] = 0;
      cpu_weights[i] = 0.0f;
    } else {
      gpu_ids[i] = cpu_ids[i] = expert(rng);
    }
  }
  SCOPED_TRACE("ids outside 0..E-1");
  expect_experts_match(*cpu, *gpu, dtype, H, I, E, k, cpu_ids, cpu_weights, gpu_ids, weights, rng);
}

// A zero-width hidden state: nothing to write, and nothing sized by the width (the GEMM's staged
// rows) may divide by it.
TEST_P(CudaMoeOps, ExpertsOfZeroWidthWriteNothing) {
  const int64_t T = 3, H = 0, I = 16, E = 4, k = 2;
  const std::vector<int32_t> ids = {0, 1, 2, 3, 1, 2};
  Tensor out = gpu->empty(dtype, {T, H});
  gpu->moe_experts(gpu->empty(dtype, {T, H}), gpu->empty(dtype, {E, 2 * I, H}), gpu->empty(dtype, {E, H, I}),
                   gpu->upload(ids.data(), DType::I32, {T, k}, DType::I32),
                   put(*gpu, std::vector<float>(size_t(T * k), 0.5f), {T, k}, DType::F32), out);
  EXPECT_TRUE(gpu->download_f32(out).empty());
}

// Route + experts recorded once and replayed over new inputs: nothing reads the routing on the host.
TEST_P(CudaMoeOps, ReplaysInAGraph) {
  if (!gpu->can_capture()) GTEST_SKIP() << "graphs are off";
  const int64_t T = 4, H = 64, I = 32, E = 16, k = 4;
  const auto gate_up = random_values(rng, size_t(E * 2 * I * H), dtype, -0.3f, 0.3f);
  const auto down = random_values(rng, size_t(E * H * I), dtype, -0.3f, 0.3f);
  Tensor gug = put(*gpu, gate_up, {E, 2 * I, H}, dtype), dng = put(*gpu, down, {E, H, I}, dtype);
  Tensor gucpu = put(*cpu, gate_up, {E, 2 * I, H}, DType::F32), dncpu = put(*cpu, down, {E, H, I}, DType::F32);
  Tensor xg = gpu->empty(dtype, {T, H}), lg = gpu->empty(DType::F32, {T, E});
  Tensor ig = gpu->empty(DType::I32, {T, k}), wg = gpu->empty(DType::F32, {T, k}), og = gpu->empty(dtype, {T, H});
  auto graph = gpu->capture([&] {
    gpu->moe_route(lg, int(k), true, ig, wg);
    gpu->moe_experts(xg, gug, dng, ig, wg, og);
  });
  ASSERT_TRUE(graph);
  for (int round = 0; round < 3; ++round) {
    const auto x = random_values(rng, size_t(T * H), dtype);
    const auto logits = random_values(rng, size_t(T * E), DType::F32, -3, 3);
    Tensor fresh_x = put(*gpu, x, {T, H}, dtype), fresh_l = put(*gpu, logits, {T, E}, DType::F32);
    const Tensor all_rows = put_ids(*gpu, {0, 1, 2, 3});
    gpu->gather_rows(fresh_x, all_rows, xg);  // new values at the recorded addresses
    gpu->gather_rows(fresh_l, all_rows, lg);
    graph->replay();
    Tensor lc = put(*cpu, logits, {T, E}, DType::F32);
    Tensor ic = cpu->empty(DType::I32, {T, k}), wc = cpu->empty(DType::F32, {T, k}), oc = cpu->empty(DType::F32, {T, H});
    cpu->moe_route(lc, int(k), true, ic, wc);
    cpu->moe_experts(put(*cpu, x, {T, H}, DType::F32), gucpu, dncpu, ic, wc, oc);
    EXPECT_EQ(download_ids(*gpu, ig), download_ids(*cpu, ic)) << "round " << round;
    const auto got = gpu->download_f32(og), want = cpu->download_f32(oc);
    TURBINE_EXPECT_CLOSE(got, want, relative_tolerance(dtype));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaMoeOps, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// ---- the models end to end ----

constexpr double kMarginTol = 0.5;
constexpr int kBlockLen = 16;

// A family by its model_dir name (e2e_util.h; "kjv-internlm2": kjv-llama's InternLM2 copy).
class CudaMoeModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    TURBINE_REQUIRE_GPU();
    try {
      dir_ = model_dir(GetParam());
    } catch (const std::runtime_error& e) {  // the InternLM2 copy needs make_internlm2.py and numpy
      GTEST_SKIP() << e.what();
    }
    if (!std::filesystem::exists(dir_ / "model.safetensors")) GTEST_SKIP() << "no model at " << dir_;
    m_ = load_gpu_model(dir_);
    cases_ = golden().at(golden_key(GetParam()));
  }
  std::filesystem::path dir_;
  std::unique_ptr<LoadedModel> m_;
  nlohmann::json cases_;
};

TEST_P(CudaMoeModel, GreedyBatchedMarginRule) {
  const auto got = batched_greedy(*m_, cases_, kBlockLen);
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

// Each prompt in a batch of its own, the margin rule over all of them (at 0.5 some prompts of the tiny
// MoE models have no step before their first small margin, so a prompt alone may compare nothing).
TEST_P(CudaMoeModel, GreedyAloneMarginRule) {
  std::vector<std::vector<int32_t>> got;
  for (const auto& c : cases_) got.push_back(batched_greedy(*m_, nlohmann::json::array({c}), kBlockLen).at(0));
  expect_greedy_margin_rule(cases_, got, kMarginTol);
}

TEST_P(CudaMoeModel, TeacherForced) { expect_teacher_forced_cases(*m_, cases_, kBlockLen, kMarginTol); }

TEST_P(CudaMoeModel, PerplexityNearBf16Reference) {
  const auto& g = golden().at(golden_key(GetParam()) + "-ppl");
  const auto tokenizer = load_tokenizer(dir_);
  std::ifstream in(dir_ / "kjv_eval.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto stream = perplexity_stream(text.str(), *tokenizer, m_->config.bos_token_id);
  ASSERT_EQ(int64_t(stream.size()), g.at("eval_tokens").get<int64_t>());
  const int window = g.at("window").get<int>();
  KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(window / kBlockLen, kBlockLen));
  const double ppl = evaluate_perplexity(*m_->model, cache, stream, window).perplexity;
  const double want = g.at("bf16").get<double>();
  EXPECT_NEAR(ppl, want, 0.005 * want);
  std::printf("%s bf16 perplexity on the GPU: %.4f (reference %.4f)\n", GetParam().c_str(), ppl, want);
}

INSTANTIATE_TEST_SUITE_P(Families, CudaMoeModel,
                         ::testing::Values("mixtral-tiny", "qwen3-moe-tiny", "kjv-internlm2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaMoeBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
