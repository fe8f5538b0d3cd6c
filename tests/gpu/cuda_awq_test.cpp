// W4A16 end to end on the GPU: kjv-llama quantized by round-to-nearest at group 128 (what `turbine
// quantize awq --method rtn` writes), its held-out perplexity by golden.json's rule on the GPU against
// the CPU on the same 4-bit folder (within 0.5%, the goldens' GPU rule), and with every prefill cut
// into chunks of 1, 8, 16 and 64 tokens, which run the GEMV with the fused ops around it (one token),
// the GEMV, the tiled GEMM and int4_gemm.cu: each within 0.5% of the whole-window run (int4_gemm.cu
// at the window's token count). And `quantize awq` with its fp32 products on the GPU
// (QuantizeOptions::device) against the same search on the CPU. And the lm_head in 4 bits as well.
#ifdef TURBINE_WITH_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "gpu_test_util.h"
#include "model/awq_model_folder.h"
#include "model/awq_quantizer.h"
#include "support/safetensors_writer.h"
#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace turbine::test {
namespace {

// A 4-bit folder's held-out perplexity on `backend` by golden.json's window, prefills cut into chunks
// of at most `chunk` tokens (0: whole windows).
// With `lm_head_int4`, the lm_head too is 4-bit (LlamaModel::quantize_lm_head, --lm-head-quant int4).
double folder_ppl(const std::filesystem::path& folder, Backend& backend, const std::vector<int32_t>& stream, int chunk,
                  const char* what, bool lm_head_int4 = false) {
  const ModelConfig config = load_model_config(folder);
  const Checkpoint checkpoint = Checkpoint::open(folder);
  LlamaModel model(config, checkpoint, backend);
  if (lm_head_int4) model.quantize_lm_head();
  const int window = golden().at("kjv-llama-ppl").at("window").get<int>();
  KvCache cache = backend.allocate_kv_cache(model.kv_cache_spec(window / 16, 16));
  const double p = perplexity(model, cache, stream, window, chunk);
  std::printf("kjv-llama 4-bit perplexity, %s, chunks of %d: %.4f\n", what, chunk, p);
  return p;
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CudaAwqPerplexity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!cuda_available()) return;
    const auto source = default_model_dir();
    const ModelConfig config = load_model_config(source);
    folder_ = new std::filesystem::path(temp_dir("cuda-awq-rtn") / "model");
    QuantizeOptions options;
    options.method = QuantMethod::Rtn;
    options.group_size = 128;
    write_awq_model_folder(source, *folder_, config, Checkpoint::open(source), {}, options);
    stream_ = new std::vector<int32_t>(
        perplexity_stream(file_text(source / "kjv_eval.txt"), *load_tokenizer(source), config.bos_token_id));
  }
  static void TearDownTestSuite() {
    delete folder_;
    delete stream_;
    folder_ = nullptr;
    stream_ = nullptr;
  }
  void SetUp() override { TURBINE_REQUIRE_GPU(); }

  // The rtn folder's perplexity on `backend`.
  static double ppl_on(Backend& backend, int chunk, const char* what, bool lm_head_int4 = false) {
    return folder_ppl(*folder_, backend, *stream_, chunk, what, lm_head_int4);
  }
  static inline std::filesystem::path* folder_ = nullptr;
  static inline std::vector<int32_t>* stream_ = nullptr;
};

TEST_F(CudaAwqPerplexity, MatchesTheCpuWithinHalfAPercent) {
  BackendOptions o;
  o.device = "cpu";
  auto cpu = make_backend(o);
  auto gpu = make_gpu(DType::BF16);
  const double want = ppl_on(*cpu, 0, "cpu"), got = ppl_on(*gpu, 0, "gpu");
  EXPECT_NEAR(got, want, 0.005 * want);
}

// The lm_head rounded to 4 bits at load: the GPU's logits rows (every token of a window, and one row a
// decode step's worth in chunks of one) through the 4-bit kernels at N 32000 and fp32 outputs, against
// the CPU's on the same weights; and it must change the figure (the rows really are 4-bit).
TEST_F(CudaAwqPerplexity, FourBitLmHeadMatchesTheCpu) {
  BackendOptions o;
  o.device = "cpu";
  auto cpu = make_backend(o);
  auto gpu = make_gpu(DType::BF16);
  const double want = ppl_on(*cpu, 0, "cpu, 4-bit lm_head", true);
  EXPECT_NEAR(ppl_on(*gpu, 0, "gpu, 4-bit lm_head", true), want, 0.005 * want);
  EXPECT_NEAR(ppl_on(*gpu, 1, "gpu, 4-bit lm_head, chunked", true), want, 0.005 * want);
  EXPECT_NE(ppl_on(*gpu, 0, "gpu"), ppl_on(*gpu, 0, "gpu, 4-bit lm_head", true));
}

TEST_F(CudaAwqPerplexity, ChunkedPrefillsAgreeOnEveryFourBitKernel) {
  auto whole_gpu = make_gpu(DType::BF16);
  const double whole = ppl_on(*whole_gpu, 0, "gpu");
  CudaOptions options;
  options.int4_gemv_max_tokens = kInt4GemvMaxTokens;
  options.int4_tiled_gemm = true;
  options.int4_tiled_min_tokens = 9;
  options.int4_tiled_max_tokens = kInt4TiledTokensLimit;
  auto gpu = make_gpu(DType::BF16, options);
  for (int chunk : {1, 8, 16, 64}) {
    SCOPED_TRACE(testing::Message() << "chunks of " << chunk);
    EXPECT_NEAR(ppl_on(*gpu, chunk, "gpu, chunked"), whole, 0.005 * whole);
  }
}

// `quantize awq` (group 128, kjv-llama's 8192 calibration tokens) with the calibration forward's linears,
// the moments and the output errors on the GPU, against the same search on the CPU: the two folders'
// perplexity (on the GPU) within 0.1% of each other (the products differ only in summation order, so
// few choices of scale or clip may change), and the GPU's within issue 19's bound, +1% of bf16.
TEST(CudaAwqQuantize, ProductsOnTheGpuKeepTheCpusQuality) {
  TURBINE_REQUIRE_GPU();
  const auto source = default_model_dir();
  const ModelConfig config = load_model_config(source);
  const auto tokenizer = load_tokenizer(source);
  std::vector<int32_t> calibration = perplexity_stream(
      file_text(source_dir() / "tests" / "data" / "kjv_calibration.txt"), *tokenizer, config.bos_token_id);
  calibration.resize(std::min<size_t>(calibration.size(), 8192));
  const std::vector<int32_t> eval =
      perplexity_stream(file_text(source / "kjv_eval.txt"), *tokenizer, config.bos_token_id);
  const auto root = temp_dir("cuda-awq-search");
  auto gpu = make_gpu(DType::BF16);
  double ppl[2] = {0, 0};
  for (int on_gpu : {0, 1}) {
    QuantizeOptions options;
    options.method = QuantMethod::Awq;
    options.group_size = 128;
    options.device = on_gpu ? "cuda" : "cpu";
    const auto folder = root / options.device;
    write_awq_model_folder(source, folder, config, Checkpoint::open(source), calibration, options);
    ppl[on_gpu] = folder_ppl(folder, *gpu, eval, 0, on_gpu ? "awq searched with the gpu" : "awq searched on the cpu");
  }
  EXPECT_NEAR(ppl[1], ppl[0], 0.001 * ppl[0]);
  EXPECT_LE(ppl[1], 1.01 * golden().at("kjv-llama-ppl").at("bf16").get<double>());
}

}  // namespace
}  // namespace turbine::test
#else
#include <gtest/gtest.h>
TEST(CudaAwqBuild, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif  // TURBINE_WITH_CUDA
