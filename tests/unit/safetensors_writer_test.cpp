// SafetensorsWriter: tensors written by name in any order land where the header puts them (the same
// bytes as writing them in the declared order, and what Checkpoint reads back), and every misuse is an
// Error that leaves no file behind.
#include "model/safetensors_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/checkpoint.h"
#include "support/safetensors_writer.h"
#include "support/test_helpers.h"

namespace turbine {
namespace {

namespace fs = std::filesystem;
using test::error_of;

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Three tensors of different sizes and dtypes, the middle one empty.
struct Tensors {
  std::vector<SafetensorsEntry> entries = {
      {"b.weight", DType::F32, {2, 3}}, {"a.empty", DType::I32, {0, 4}}, {"c.scales", DType::F16, {5}}};
  std::vector<float> b = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> c = {0x3c00, 0x4000, 0x4200, 0x4400, 0x4500};
};

TEST(SafetensorsWriter, TensorsByNameInAnyOrderGiveTheBytesOfTheDeclaredOrder) {
  const fs::path dir = test::temp_dir("safetensors-writer");
  const Tensors t;
  {
    SafetensorsWriter in_order(dir / "in_order.safetensors", t.entries);
    in_order.write(t.b.data(), t.b.size() * 4);
    in_order.write(nullptr, 0);
    in_order.write(t.c.data(), t.c.size() * 2);
    in_order.finish();
  }
  {
    SafetensorsWriter by_name(dir / "by_name.safetensors", t.entries);
    by_name.write(t.entries[2], t.c.data());  // the last first: the file has a gap until the rest come
    by_name.write(t.entries[0], t.b.data());
    by_name.write(t.entries[1], nullptr);
    by_name.finish();
  }
  EXPECT_EQ(file_bytes(dir / "by_name.safetensors"), file_bytes(dir / "in_order.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "by_name.safetensors.partial"));

  fs::create_directory(dir / "model");
  fs::rename(dir / "by_name.safetensors", dir / "model" / "model.safetensors");
  const Checkpoint ckpt = Checkpoint::open(dir / "model");
  const TensorView& b = ckpt.get("b.weight", {2, 3});
  EXPECT_EQ(std::vector<float>(static_cast<const float*>(b.data), static_cast<const float*>(b.data) + 6), t.b);
  const TensorView& c = ckpt.get("c.scales", {5});
  EXPECT_EQ(c.dtype, DType::F16);
  EXPECT_EQ(std::vector<uint16_t>(static_cast<const uint16_t*>(c.data), static_cast<const uint16_t*>(c.data) + 5), t.c);
}

TEST(SafetensorsWriter, MisuseIsAnErrorAndLeavesNoFile) {
  const fs::path dir = test::temp_dir("safetensors-writer-errors");
  const Tensors t;
  const fs::path path = dir / "x.safetensors";
  const auto no_files = [&] { return fs::is_empty(dir); };

  std::vector<SafetensorsEntry> twice = t.entries;
  twice.push_back(t.entries[0]);
  EXPECT_NE(error_of([&] { SafetensorsWriter w(path, twice); }).find("'b.weight' declared twice"), std::string::npos);
  EXPECT_TRUE(no_files());

  const auto misuse = [&](auto&& action) {
    std::string message;
    {
      SafetensorsWriter w(path, t.entries);
      message = error_of([&] { action(w); });
    }
    EXPECT_TRUE(no_files()) << message;
    return message;
  };
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {
              w.write({"d", DType::F32, {1}}, t.b.data());
            }).find("'d' was not declared"),
            std::string::npos);
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {
              w.write({"b.weight", DType::F32, {3, 2}}, t.b.data());
            }).find("'b.weight' is declared float32 [2, 3], given float32 [3, 2]"),
            std::string::npos);
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {
              w.write({"c.scales", DType::BF16, {5}}, t.c.data());
            }).find("declared float16 [5], given bfloat16 [5]"),
            std::string::npos);
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {
              w.write(t.entries[0], t.b.data());
              w.write(t.entries[0], t.b.data());
            }).find("'b.weight' written twice"),
            std::string::npos);
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {  // the declared order after a write by name
              w.write(t.entries[0], t.b.data());
              w.write(t.b.data(), t.b.size() * 4);
            })
                .find("'b.weight' written twice"),
            std::string::npos);
  EXPECT_NE(misuse([&](SafetensorsWriter& w) {
              w.write(t.entries[2], t.c.data());
              w.write(t.entries[0], t.b.data());
              w.finish();
            }).find("2 of 3 tensors written"),
            std::string::npos);
}

}  // namespace
}  // namespace turbine
