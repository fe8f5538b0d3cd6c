#include "backend/cuda_options.h"

#include <charconv>

#include "core/error.h"

namespace turbine {
namespace {

int parse_tokens(const std::string& text, const std::string& name, int max) {
  int value = -1;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 0 || value > max)
    fail("{}: expected a token count in 0..{}, got '{}'", name, max, text);
  return value;
}

}  // namespace

bool parse_on_off(const std::string& text, const std::string& name) {
  if (text == "on" || text == "1") return true;
  if (text == "off" || text == "0") return false;
  fail("{}: expected on or off, got '{}'", name, text);
}

CudaOptions resolve_cuda_options(const CudaOptionFlags& flags, const std::function<const char*(const char*)>& getenv,
                                 std::vector<std::string>* applied) {
  CudaOptions o;
  // The value of variable `name` where the flag is unset and the variable set (and not empty).
  auto from_env = [&](const char* name) -> std::optional<std::string> {
    const char* value = getenv(name);
    if (!value || !*value) return std::nullopt;
    if (applied) applied->push_back(std::string(name) + "=" + value);
    return std::string(value);
  };
  auto on_off = [&](const std::optional<bool>& flag, const char* variable, bool& out) {
    if (flag)
      out = *flag;
    else if (auto v = from_env(variable))
      out = parse_on_off(*v, variable);
  };
  auto tokens = [&](const std::optional<int>& flag, const char* flag_name, const char* variable, int max, int& out) {
    if (flag) {
      if (*flag < 0 || *flag > max) fail("{}: expected a token count in 0..{}, got {}", flag_name, max, *flag);
      out = *flag;
    } else if (auto v = from_env(variable)) {
      out = parse_tokens(*v, variable, max);
    }
  };
  on_off(flags.graphs, "TURBINE_CUDA_GRAPHS", o.graphs);
  on_off(flags.fused, "TURBINE_CUDA_FUSED", o.fused);
  on_off(flags.pdl, "TURBINE_CUDA_PDL", o.pdl);
  on_off(flags.cublaslt_tune, "TURBINE_CUBLASLT_TUNE", o.cublaslt_tune);
  on_off(flags.int4_tiled_gemm, "TURBINE_CUDA_INT4_TILED", o.int4_tiled_gemm);
  on_off(flags.int4_wgmma, "TURBINE_CUDA_INT4_WGMMA", o.int4_wgmma);
  on_off(flags.int4_b_order, "TURBINE_CUDA_INT4_B_ORDER", o.int4_b_order);
  on_off(flags.flash_quantized_kv, "TURBINE_CUDA_FLASH_QUANTIZED_KV", o.flash_quantized_kv);
  on_off(flags.kv_decode_wide_lanes, "TURBINE_CUDA_KV_DECODE_WIDE_LANES", o.kv_decode_wide_lanes);
  tokens(flags.skinny_gemm_max_tokens, "--skinny-gemm-max-tokens", "TURBINE_CUDA_SKINNY_GEMM", kSkinnyGemmMaxTokens,
         o.skinny_gemm_max_tokens);
  tokens(flags.wgmma_gemm_max_tokens, "--wgmma-gemm-max-tokens", "TURBINE_CUDA_WGMMA_GEMM", kWgmmaGemmMaxTokens,
         o.wgmma_gemm_max_tokens);
  tokens(flags.int4_gemv_max_tokens, "--int4-gemv-max-tokens", "TURBINE_CUDA_INT4_GEMV", kInt4GemvMaxTokens,
         o.int4_gemv_max_tokens);
  int min_tokens = -1;  // unset
  tokens(flags.int4_tiled_min_tokens, "--int4-tiled-min-tokens", "TURBINE_CUDA_INT4_TILED_MIN", kInt4TiledTokensLimit,
         min_tokens);
  if (min_tokens >= 0) o.int4_tiled_min_tokens = min_tokens;
  tokens(flags.int4_tiled_max_tokens, "--int4-tiled-max-tokens", "TURBINE_CUDA_INT4_TILED_MAX", kInt4TiledTokensLimit,
         o.int4_tiled_max_tokens);
  tokens(flags.int4_dequant_min_tokens, "--int4-dequant-min-tokens", "TURBINE_CUDA_INT4_DEQUANT",
         kInt4DequantMinTokensLimit, o.int4_dequant_min_tokens);
  // An empty range would switch the tiled GEMM off unsaid; --int4-tiled-gemm off says that. Unset, the
  // fewest is the lower of the two defaults (the device decides which applies).
  const int fewest = o.int4_tiled_min_tokens.value_or(kInt4WgmmaTiledMinTokens);
  if (fewest > o.int4_tiled_max_tokens)
    fail(
        "--int4-tiled-min-tokens (TURBINE_CUDA_INT4_TILED_MIN) {} is above --int4-tiled-max-tokens "
        "(TURBINE_CUDA_INT4_TILED_MAX) {}; --int4-tiled-gemm off runs the tiled GEMM at no token count",
        fewest, o.int4_tiled_max_tokens);
  return o;
}

}  // namespace turbine
