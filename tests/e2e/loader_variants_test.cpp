// The loader's other paths (older config keys, shards, fp16/fp32 tensors, biases, tied embeddings,
// each rope scaling type) against transformers: variants of kjv-llama are derived here by
// scripts/make_variants.py, the same script that made the references on the GPU machine
// (scripts/make_variant_references.py -> tests/data/variant_references.json).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "model/checkpoint.h"
#include "model/llama_model.h"
#include "model/model_config.h"
#include "support/safetensors_writer.h"
#include "support/test_paths.h"

using namespace turbine;
using namespace turbine::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kLogitTolerance = 1e-3;  // fp32 CPU against fp32 transformers
constexpr double kMarginTolerance = 0.05;

json load_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// Derives one variant into a fresh temporary folder (ctest runs each case in its own process).
fs::path make_variant(const std::string& name) {
  const fs::path dir = temp_dir("variant");
  const std::string cmd = "/usr/bin/python3 " + (source_dir() / "scripts" / "make_variants.py").string() + " " +
                          default_model_dir().string() + " " + dir.string() + " " + name + " > /dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return dir;
}

class LoaderVariants : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(LoaderVariants, MatchesTransformers) {
  const std::string name = GetParam();
  const json refs = load_json(source_dir() / "tests" / "data" / "variant_references.json")["variants"][name];
  const json inputs = load_json(source_dir() / "tests" / "data" / "variant_inputs.json")["sequences"];
  ASSERT_EQ(refs.size(), inputs.size());

  const fs::path work = make_variant(name);
  const fs::path model_dir = work / name;
  const ModelConfig config = load_model_config(model_dir);
  const Checkpoint checkpoint = Checkpoint::open(model_dir);
  BackendOptions options;
  options.device = "cpu";
  auto backend = make_backend(options);
  LlamaModel model(config, checkpoint, *backend);

  for (size_t s = 0; s < inputs.size(); ++s) {
    const auto ids = inputs[s].get<std::vector<int32_t>>();
    const int block_len = 16;
    const int blocks = int(ids.size() + block_len - 1) / block_len;
    KvCache cache = backend->allocate_kv_cache(model.kv_cache_spec(blocks, block_len));
    BatchInput batch;
    batch.token_ids = ids;
    SequenceInput seq;
    seq.num_tokens = int32_t(ids.size());
    seq.all_logits = true;
    for (int b = 0; b < blocks; ++b) seq.block_table.push_back(b);
    batch.sequences.push_back(seq);
    const std::vector<float> logits = backend->download_f32(model.forward(batch, cache));
    const size_t vocab = size_t(config.vocab_size);
    ASSERT_EQ(logits.size(), ids.size() * vocab);

    const json& ref = refs[s];
    for (size_t p = 0; p < ids.size(); ++p) {
      if (ref["margins"][p].get<double>() < kMarginTolerance) continue;
      const float* row = logits.data() + p * vocab;
      const size_t argmax = size_t(std::max_element(row, row + vocab) - row);
      EXPECT_EQ(argmax, ref["argmax"][p].get<size_t>()) << name << " sequence " << s << " position " << p;
    }
    for (const auto& [pos, top] : ref["top10"].items()) {
      const float* row = logits.data() + std::stoul(pos) * vocab;
      for (const auto& pair : top)
        EXPECT_NEAR(row[pair[0].get<size_t>()], pair[1].get<double>(), kLogitTolerance)
            << name << " sequence " << s << " position " << pos << " id " << pair[0];
    }
  }
  fs::remove_all(work);
}

INSTANTIATE_TEST_SUITE_P(Variants, LoaderVariants,
                         ::testing::Values("old-keys", "sharded", "fp16", "fp32", "bias", "tied", "rope-linear",
                                           "rope-dynamic", "rope-llama3"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) c = (c == '-') ? '_' : c;
                           return n;
                         });
