// The safetensors reader: real files, sharded checkpoints, and every way a file can lie.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "model/checkpoint.h"
#include "support/safetensors_writer.h"
#include "support/test_paths.h"

using namespace turbine;
using namespace turbine::test;
namespace fs = std::filesystem;

namespace {

// Runs fn, expects an Error whose message contains every fragment.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

float f32_at(const TensorView& t, size_t i) {
  float v;
  std::memcpy(&v, static_cast<const char*>(t.data) + i * 4, 4);
  return v;
}

}  // namespace

TEST(Checkpoint, ReadsTheBundledModel) {
  auto ckpt = Checkpoint::open(default_model_dir());
  const auto& emb = ckpt.get("model.embed_tokens.weight", {32000, 256});
  EXPECT_EQ(emb.dtype, DType::BF16);
  EXPECT_TRUE(ckpt.contains("lm_head.weight"));
  EXPECT_EQ(ckpt.names().size(), 1u + 8 * 9 + 2);
  EXPECT_GT(ckpt.total_bytes(), 40u << 20);
}

TEST(Checkpoint, ReadsValuesAndChecksShapes) {
  auto dir = temp_dir("ckpt");
  write_safetensors(dir / "model.safetensors", {f32_tensor("a", {2, 3}, 1.0f), f32_tensor("b", {4}, 10.0f)});
  auto ckpt = Checkpoint::open(dir);
  EXPECT_EQ(f32_at(ckpt.get("a"), 5), 6.0f);
  EXPECT_EQ(f32_at(ckpt.get("b"), 0), 10.0f);
  expect_error([&] { ckpt.get("a", {3, 2}); }, {"'a'", "[2, 3]", "[3, 2]"});
  expect_error([&] { ckpt.get("missing"); }, {"'missing'", "missing"});
}

TEST(Checkpoint, ReadsShardedCheckpoints) {
  auto dir = temp_dir("shards");
  write_safetensors(dir / "model-00001-of-00002.safetensors", {f32_tensor("a", {3})});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {f32_tensor("b", {5}, 7.0f)});
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})";
  auto ckpt = Checkpoint::open(dir);
  EXPECT_EQ(f32_at(ckpt.get("b"), 4), 11.0f);
  EXPECT_EQ(ckpt.names().size(), 2u);
}

TEST(Checkpoint, ShardIndexMustMatchTheFiles) {
  auto dir = temp_dir("badshards");
  write_safetensors(dir / "s1.safetensors", {f32_tensor("a", {3})});
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})";
  expect_error([&] { Checkpoint::open(dir); }, {"s2.safetensors", "missing"});
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "s1.safetensors", "c": "s1.safetensors"}})";
  expect_error([&] { Checkpoint::open(dir); }, {"'c'", "missing"});
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": )";
  expect_error([&] { Checkpoint::open(dir); }, {"model.safetensors.index.json", "malformed"});
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"a": "../s1.safetensors"}})";
  expect_error([&] { Checkpoint::open(dir); }, {"outside the folder"});
}

TEST(Checkpoint, RejectsTruncatedFiles) {
  auto dir = temp_dir("trunc");
  write_safetensors(dir / "model.safetensors", {f32_tensor("a", {64})});
  fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") - 10);
  expect_error([&] { Checkpoint::open(dir); }, {"model.safetensors", "'a'", "truncated"});
  fs::resize_file(dir / "model.safetensors", 5);
  expect_error([&] { Checkpoint::open(dir); }, {"model.safetensors", "truncated"});
  fs::resize_file(dir / "model.safetensors", 0);
  expect_error([&] { Checkpoint::open(dir); }, {"model.safetensors"});
}

TEST(Checkpoint, RejectsHeadersThatLie) {
  auto dir = temp_dir("lies");
  auto path = dir / "model.safetensors";
  auto t = f32_tensor("w", {4, 4});
  // Shape says 16 floats (64 bytes) but the offsets span 60.
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 60]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"'w'", "needs 64 bytes"});
  // Offsets past the end of the file.
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [1000, 1064]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"'w'", "outside"});
  // Begin after end.
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"'w'"});
  // Two tensors over the same bytes.
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]},
                                  "v": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"overlap"});
  // Negative dimension and missing fields.
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "shape": [-4, 4], "data_offsets": [0, 64]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"'w'", "negative"});
  write_safetensors(path, {t}, R"({"w": {"dtype": "F32", "data_offsets": [0, 64]}})");
  expect_error([&] { Checkpoint::open(dir); }, {"'w'", "shape"});
  // A header length larger than the file.
  {
    std::ofstream out(path, std::ios::binary);
    const char len[8] = {char(0xff), char(0xff), 0, 0, 0, 0, 0, 0};
    out.write(len, 8);
    out << "{}";
  }
  expect_error([&] { Checkpoint::open(dir); }, {"header length"});
  // A header that is not JSON.
  write_safetensors(path, {t}, "{\"w\": [1, 2");
  expect_error([&] { Checkpoint::open(dir); }, {"malformed safetensors header"});
}

TEST(Checkpoint, UnsupportedDtypesFailOnlyWhenUsed) {
  auto dir = temp_dir("dtype");
  FakeTensor ids{"position_ids", "I64", {4}, std::vector<uint8_t>(32)};
  write_safetensors(dir / "model.safetensors", {f32_tensor("a", {2}), ids});
  auto ckpt = Checkpoint::open(dir);
  EXPECT_EQ(ckpt.get("a").numel(), 2);
  expect_error([&] { ckpt.get("position_ids"); }, {"position_ids (I64)", "dtype"});
}

TEST(Checkpoint, ExplainsMissingOrForeignWeights) {
  auto dir = temp_dir("none");
  expect_error([&] { Checkpoint::open(dir); }, {"no model.safetensors"});
  std::ofstream(dir / "pytorch_model.bin") << "x";
  expect_error([&] { Checkpoint::open(dir); }, {".bin", "safetensors"});
  expect_error([&] { Checkpoint::open(dir / "nope"); }, {"not a model folder"});
}
