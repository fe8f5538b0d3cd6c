// config.json's quantization_config: AutoAWQ GEMM checkpoints give their group size (spellings of the
// hub included); every other quantization is an Error naming the field.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/model_config.h"
#include "support/safetensors_writer.h"

namespace turbine::test {
namespace {

using nlohmann::json;

json config_with(const json& quant) {
  json j = json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 768,
    "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32000})");
  if (!quant.is_null()) j["quantization_config"] = quant;
  return j;
}

ModelConfig parse(const json& j) {
  const auto dir = temp_dir("awq-cfg");
  std::ofstream(dir / "config.json") << j.dump();
  return load_model_config(dir);
}

std::string error_of(const json& quant) {
  try {
    parse(config_with(quant));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(AwqConfig, GroupSizeOfAnAutoAwqGemmCheckpoint) {
  EXPECT_EQ(parse(config_with(nullptr)).awq_group_size, 0);
  EXPECT_EQ(
      parse(config_with(
                {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 128}, {"version", "gemm"}, {"zero_point", true}}))
          .awq_group_size,
      128);
  // The hub's spellings: "GEMM", AutoAWQ's older w_bit / q_group_size, version and zero_point left out.
  EXPECT_EQ(parse(config_with({{"quant_method", "awq"}, {"w_bit", 4}, {"q_group_size", 64}, {"version", "GEMM"}}))
                .awq_group_size,
            64);
}

TEST(AwqConfig, OtherQuantizationsNameTheField) {
  const json awq = {
      {"quant_method", "awq"}, {"bits", 4}, {"group_size", 128}, {"version", "gemm"}, {"zero_point", true}};
  auto with = [&](const char* key, const json& value) {
    json q = awq;
    q[key] = value;
    return error_of(q);
  };
  EXPECT_NE(with("quant_method", "gptq").find("quantization_config.quant_method"), std::string::npos);
  EXPECT_NE(with("bits", 8).find("quantization_config.bits"), std::string::npos);
  EXPECT_NE(with("version", "marlin").find("quantization_config.version"), std::string::npos);
  EXPECT_NE(with("zero_point", false).find("quantization_config.zero_point"), std::string::npos);
  EXPECT_NE(with("group_size", 0).find("quantization_config.group_size"), std::string::npos);
  EXPECT_NE(error_of("awq").find("'quantization_config' must be an object"), std::string::npos);
}

}  // namespace
}  // namespace turbine::test
