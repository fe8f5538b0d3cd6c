// CudaOptions from flags over the environment fallback (resolve_cuda_options): flags win, a
// variable fills only what no flag set and is reported, bad values name the flag or variable.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "backend/cuda_options.h"
#include "core/error.h"

using namespace turbine;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  const char* operator()(const char* name) const {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  }
};

CudaOptions resolve(const CudaOptionFlags& flags, const FakeEnv& env, std::vector<std::string>* applied = nullptr) {
  return resolve_cuda_options(flags, env, applied);
}

}  // namespace

TEST(CudaOptions, DefaultsWithNeitherFlagsNorEnvironment) {
  std::vector<std::string> applied;
  const CudaOptions o = resolve({}, FakeEnv{}, &applied);
  EXPECT_TRUE(o.graphs && o.fused && o.pdl && o.cublaslt_tune);
  EXPECT_EQ(o.skinny_gemm_max_tokens, kSkinnyGemmMaxTokens);
  EXPECT_EQ(o.wgmma_gemm_max_tokens, kWgmmaGemmMaxTokens);
  EXPECT_EQ(o.int4_gemv_max_tokens, kInt4GemvMaxTokens);  // the 4-bit GEMV wherever it takes the tokens
  EXPECT_TRUE(o.int4_tiled_gemm);  // the tiled 4-bit GEMM where it wins: from 17 tokens on wgmma, 33 on mma.sync
  EXPECT_TRUE(o.int4_wgmma);       // its tiles on wgmma (where the device has it)
  EXPECT_TRUE(o.int4_b_order);     // and their pre-norms' output in the order the 64-token tiles read
  EXPECT_FALSE(o.int4_tiled_min_tokens.has_value());  // so the backend picks one of those two
  EXPECT_EQ(o.int4_tiled_max_tokens, kInt4TiledMaxTokens);
  EXPECT_EQ(o.int4_dequant_min_tokens, 0);  // and the dequantized path nowhere
  EXPECT_TRUE(o.flash_quantized_kv);        // the flash kernel on a quantized cache (it wins)
  EXPECT_TRUE(o.kv_decode_wide_lanes);      // and the decode kernel's wide lanes (they win)
  EXPECT_TRUE(applied.empty());
}

TEST(CudaOptions, FlagsSetEveryField) {
  CudaOptionFlags f;
  f.graphs = false;
  f.fused = false;
  f.pdl = false;
  f.cublaslt_tune = false;
  f.skinny_gemm_max_tokens = 1;
  f.wgmma_gemm_max_tokens = 0;
  f.int4_gemv_max_tokens = 0;
  f.int4_tiled_gemm = false;
  f.int4_wgmma = false;
  f.int4_b_order = false;
  f.int4_tiled_min_tokens = 9;
  f.int4_tiled_max_tokens = 4096;
  f.int4_dequant_min_tokens = 512;
  f.flash_quantized_kv = false;
  f.kv_decode_wide_lanes = false;
  const CudaOptions o = resolve(f, FakeEnv{});
  EXPECT_FALSE(o.flash_quantized_kv);
  EXPECT_FALSE(o.kv_decode_wide_lanes);
  EXPECT_EQ(o.int4_dequant_min_tokens, 512);
  EXPECT_FALSE(o.graphs || o.fused || o.pdl || o.cublaslt_tune);
  EXPECT_FALSE(o.int4_tiled_gemm);
  EXPECT_FALSE(o.int4_wgmma);
  EXPECT_FALSE(o.int4_b_order);
  EXPECT_EQ(o.int4_tiled_min_tokens, 9);
  EXPECT_EQ(o.int4_tiled_max_tokens, 4096);
  EXPECT_EQ(o.skinny_gemm_max_tokens, 1);
  EXPECT_EQ(o.wgmma_gemm_max_tokens, 0);
  EXPECT_EQ(o.int4_gemv_max_tokens, 0);
}

TEST(CudaOptions, EnvironmentFillsWhatNoFlagSetAndIsReported) {
  const FakeEnv env{{{"TURBINE_CUDA_GRAPHS", "0"},
                     {"TURBINE_CUDA_FUSED", "0"},
                     {"TURBINE_CUDA_PDL", "off"},
                     {"TURBINE_CUBLASLT_TUNE", "0"},
                     {"TURBINE_CUDA_SKINNY_GEMM", "0"},
                     {"TURBINE_CUDA_WGMMA_GEMM", "16"},
                     {"TURBINE_CUDA_INT4_GEMV", "4"},
                     {"TURBINE_CUDA_INT4_TILED", "off"},
                     {"TURBINE_CUDA_INT4_WGMMA", "0"},
                     {"TURBINE_CUDA_INT4_B_ORDER", "off"},
                     {"TURBINE_CUDA_INT4_TILED_MIN", "17"},
                     {"TURBINE_CUDA_INT4_TILED_MAX", "2048"},
                     {"TURBINE_CUDA_INT4_DEQUANT", "256"},
                     {"TURBINE_CUDA_FLASH_QUANTIZED_KV", "0"},
                     {"TURBINE_CUDA_KV_DECODE_WIDE_LANES", "off"}}};
  CudaOptionFlags f;
  f.graphs = true;               // the flag wins over TURBINE_CUDA_GRAPHS=0
  f.wgmma_gemm_max_tokens = 32;  // and over TURBINE_CUDA_WGMMA_GEMM=16
  std::vector<std::string> applied;
  const CudaOptions o = resolve(f, env, &applied);
  EXPECT_TRUE(o.graphs);
  EXPECT_FALSE(o.fused);
  EXPECT_FALSE(o.pdl);
  EXPECT_FALSE(o.cublaslt_tune);
  EXPECT_EQ(o.skinny_gemm_max_tokens, 0);
  EXPECT_EQ(o.wgmma_gemm_max_tokens, 32);
  EXPECT_EQ(o.int4_gemv_max_tokens, 4);
  EXPECT_FALSE(o.int4_tiled_gemm);
  EXPECT_FALSE(o.int4_wgmma);
  EXPECT_FALSE(o.int4_b_order);
  EXPECT_EQ(o.int4_tiled_min_tokens, 17);
  EXPECT_EQ(o.int4_tiled_max_tokens, 2048);
  EXPECT_EQ(o.int4_dequant_min_tokens, 256);
  EXPECT_FALSE(o.flash_quantized_kv);
  EXPECT_FALSE(o.kv_decode_wide_lanes);
  EXPECT_EQ(applied, (std::vector<std::string>{
                         "TURBINE_CUDA_FUSED=0", "TURBINE_CUDA_PDL=off", "TURBINE_CUBLASLT_TUNE=0",
                         "TURBINE_CUDA_INT4_TILED=off", "TURBINE_CUDA_INT4_WGMMA=0", "TURBINE_CUDA_INT4_B_ORDER=off",
                         "TURBINE_CUDA_FLASH_QUANTIZED_KV=0", "TURBINE_CUDA_KV_DECODE_WIDE_LANES=off",
                         "TURBINE_CUDA_SKINNY_GEMM=0", "TURBINE_CUDA_INT4_GEMV=4", "TURBINE_CUDA_INT4_TILED_MIN=17",
                         "TURBINE_CUDA_INT4_TILED_MAX=2048", "TURBINE_CUDA_INT4_DEQUANT=256"}));
}

TEST(CudaOptions, EmptyVariablesAreUnset) {
  std::vector<std::string> applied;
  const CudaOptions o = resolve({}, FakeEnv{{{"TURBINE_CUDA_GRAPHS", ""}}}, &applied);
  EXPECT_TRUE(o.graphs);
  EXPECT_TRUE(applied.empty());
}

TEST(CudaOptions, BadValuesNameTheirSource) {
  auto message = [](const CudaOptionFlags& f, const FakeEnv& env) -> std::string {
    try {
      resolve(f, env);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_GRAPHS", "maybe"}}}).find("TURBINE_CUDA_GRAPHS"), std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_SKINNY_GEMM", "3"}}}).find("TURBINE_CUDA_SKINNY_GEMM"),
            std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_WGMMA_GEMM", "12x"}}}).find("TURBINE_CUDA_WGMMA_GEMM"),
            std::string::npos);
  CudaOptionFlags f;
  f.skinny_gemm_max_tokens = kSkinnyGemmMaxTokens + 1;
  EXPECT_NE(message(f, FakeEnv{}).find("--skinny-gemm-max-tokens"), std::string::npos);
  f = {};
  f.wgmma_gemm_max_tokens = -1;
  EXPECT_NE(message(f, FakeEnv{}).find("--wgmma-gemm-max-tokens"), std::string::npos);
  f = {};
  f.int4_gemv_max_tokens = kInt4GemvMaxTokens + 1;
  EXPECT_NE(message(f, FakeEnv{}).find("--int4-gemv-max-tokens"), std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_INT4_GEMV", "17"}}}).find("TURBINE_CUDA_INT4_GEMV"),
            std::string::npos);
  f = {};
  f.int4_dequant_min_tokens = -1;
  EXPECT_NE(message(f, FakeEnv{}).find("--int4-dequant-min-tokens"), std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_INT4_DEQUANT", "many"}}}).find("TURBINE_CUDA_INT4_DEQUANT"),
            std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_INT4_TILED", "maybe"}}}).find("TURBINE_CUDA_INT4_TILED"),
            std::string::npos);
  f = {};
  f.int4_tiled_min_tokens = -1;
  EXPECT_NE(message(f, FakeEnv{}).find("--int4-tiled-min-tokens"), std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_INT4_TILED_MIN", "9 "}}}).find("TURBINE_CUDA_INT4_TILED_MIN"),
            std::string::npos);
  f = {};
  f.int4_tiled_max_tokens = kInt4TiledTokensLimit + 1;
  EXPECT_NE(message(f, FakeEnv{}).find("--int4-tiled-max-tokens"), std::string::npos);
  // An empty range, from flags or from the environment, names both bounds.
  CudaOptionFlags empty_range;
  empty_range.int4_tiled_min_tokens = 65;
  empty_range.int4_tiled_max_tokens = 64;
  const std::string both = message(empty_range, FakeEnv{});
  EXPECT_NE(both.find("--int4-tiled-min-tokens"), std::string::npos) << both;
  EXPECT_NE(both.find("--int4-tiled-max-tokens"), std::string::npos) << both;
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_INT4_TILED_MAX", "16"}}}).find("TURBINE_CUDA_INT4_TILED_MAX"),
            std::string::npos);
  EXPECT_NE(message({}, FakeEnv{{{"TURBINE_CUDA_FLASH_QUANTIZED_KV", "2"}}}).find("TURBINE_CUDA_FLASH_QUANTIZED_KV"),
            std::string::npos);
}

TEST(CudaOptions, OnOffSpellings) {
  EXPECT_TRUE(parse_on_off("on", "--x"));
  EXPECT_TRUE(parse_on_off("1", "--x"));
  EXPECT_FALSE(parse_on_off("off", "--x"));
  EXPECT_FALSE(parse_on_off("0", "--x"));
  EXPECT_THROW(parse_on_off("yes", "--x"), Error);
  EXPECT_THROW(parse_on_off("", "--x"), Error);
}
