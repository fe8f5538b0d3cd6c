// The mixture-of-experts ops and models on the GPU: moe_route and moe_experts against the CPU
// reference on awkward shapes (widths off the 16-byte path, experts no token picks, one token and
// many), a decode step recorded in a graph and replayed with new routing, and mixtral-tiny,
// qwen3-moe-tiny and the InternLM2 copy of kjv-llama end to end in bf16 against golden.json
// (margin rule at 0.5 alone and batched, perplexity within 0.5% of the bf16 reference).
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "gpu_test_util.h"
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

// Widths not a multiple of 8 take the scalar path; 256 tokens x 8 fill many chunks per expert.
TEST_P(CudaMoeOps, ExpertsMatchCpu) {
  for (const auto& [T, H, I, E, k] : {std::tuple{1, 64, 32, 8, 2}, {3, 24, 40, 16, 4}, {16, 256, 192, 8, 2},
                                     {5, 30, 18, 5, 2}, {256, 128, 96, 32, 8}, {2, 64, 64, 128, 8}}) {
    SCOPED_TRACE(testing::Message() << "T " << T << " H " << H << " I " << I << " E " << E << " k " << k);
    const auto x = random_values(rng, size_t(T * H), dtype);
    const auto gate_up = random_values(rng, size_t(E * 2 * I * H), dtype, -0.3f, 0.3f);
    const auto down = random_values(rng, size_t(E * H * I), dtype, -0.3f, 0.3f);
    const auto logits = random_values(rng, size_t(T * E), DType::F32, -2, 2);
    Tensor lc = put(*cpu, logits, {T, E}, DType::F32);
    Tensor ic = cpu->empty(DType::I32, {T, k}), wc = cpu->empty(DType::F32, {T, k});
    cpu->moe_route(lc, k, true, ic, wc);
    const auto ids = download_ids(*cpu, ic);
    const auto weights = cpu->download_f32(wc);
    Tensor oc = cpu->empty(DType::F32, {T, H});
    cpu->moe_experts(put(*cpu, x, {T, H}, DType::F32), put(*cpu, gate_up, {E, 2 * I, H}, DType::F32),
                     put(*cpu, down, {E, H, I}, DType::F32), ic, wc, oc);
    Tensor ig = gpu->upload(ids.data(), DType::I32, {T, k}, DType::I32);
    Tensor og = gpu->empty(dtype, {T, H});
    gpu->moe_experts(put(*gpu, x, {T, H}, dtype), put(*gpu, gate_up, {E, 2 * I, H}, dtype),
                     put(*gpu, down, {E, H, I}, dtype), ig, put(*gpu, weights, {T, k}, DType::F32), og);
    const auto got = gpu->download_f32(og), want = cpu->download_f32(oc);
    TURBINE_EXPECT_CLOSE(got, want, relative_tolerance(dtype));
  }
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
    m_ = std::make_unique<LoadedModel>(LoadedModel{load_model_config(dir_), Checkpoint::open(dir_), nullptr, nullptr});
    m_->backend = make_gpu(DType::BF16);
    m_->model = std::make_unique<LlamaModel>(m_->config, m_->checkpoint, *m_->backend);
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

TEST_P(CudaMoeModel, GreedyAloneMarginRule) {
  for (size_t i = 0; i < cases_.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "prompt " << i);
    const nlohmann::json one = nlohmann::json::array({cases_[i]});
    const auto got = batched_greedy(*m_, one, kBlockLen);
    expect_greedy_margin_rule(one, got, kMarginTol);
  }
}

TEST_P(CudaMoeModel, TeacherForced) {
  const int64_t V = m_->config.vocab_size;
  for (const auto& c : cases_) {
    const std::vector<int32_t> ids = teacher_forcing_ids(c);
    const int blocks = int((ids.size() + kBlockLen - 1) / kBlockLen);
    KvCache cache = m_->backend->allocate_kv_cache(m_->model->kv_cache_spec(blocks, kBlockLen));
    BatchInput in;
    in.token_ids = ids;
    in.sequences.push_back({0, int32_t(ids.size()), block_range(0, blocks), true});
    const auto logits = m_->backend->download_f32(m_->model->forward(in, cache));
    ASSERT_EQ(logits.size(), ids.size() * V);
    std::vector<int> argmaxes;
    for (size_t i = 0; i < ids.size(); ++i) argmaxes.push_back(argmax(logits.data() + i * V, V));
    expect_teacher_forced(c, argmaxes, kMarginTol);
  }
}

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
