// A workspace rank file's 4-bit projections (model/rank_file_int4.h): written as convert writes them,
// read back by RankFileSource, on sizes whose zero points do not fill whole words.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "model/rank_file_int4.h"
#include "model/rank_file_source.h"
#include "model/safetensors_writer.h"
#include "support/test_helpers.h"

namespace turbine {
namespace {

namespace fs = std::filesystem;
using test::error_of;

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// The three tensors of `m` under `name`, as convert writes them.
std::vector<TensorToWrite> stored(const std::string& name, const HostInt4Matrix& m) {
  const std::vector<SafetensorsEntry> e = int4_rank_entries(name, m.n, m.k, m.group_size);
  return {{e[0].name, e[0].dtype, e[0].shape, bytes_of(pack_nibble_rows(m.q, m.n, m.k))},
          {e[1].name, e[1].dtype, e[1].shape, bytes_of(pack_nibble_rows(m.zeros, m.n, m.k / m.group_size))},
          {e[2].name, e[2].dtype, e[2].shape, bytes_of(m.scales)}};
}

class RankFileInt4 : public ::testing::Test {
 protected:
  test::ScratchDir scratch_{"turbine_rank_file_int4"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(RankFileInt4, NibblesAreConsecutiveColumnsLowFirst) {
  const std::vector<int32_t> words = pack_nibble_rows({1, 2, 3, 4, 5, 6, 7, 8, 9, 15}, 1, 10);
  ASSERT_EQ(words.size(), 2u);  // the second word holds two columns, its other nibbles 0
  EXPECT_EQ(uint32_t(words[0]), 0x87654321u);
  EXPECT_EQ(uint32_t(words[1]), 0xF9u);
}

TEST_F(RankFileInt4, ARankFileGivesBackTheMatrix) {
  struct Size {
    int64_t n, k;
    int group;
  };
  std::vector<TensorToWrite> tensors;
  const std::vector<Size> sizes = {{24, 96, 32}, {40, 768, 64}, {8, 256, 256}, {12, 2048, 32}};  // 3, 12, 1, 64 groups
  std::vector<HostInt4Matrix> matrices;
  for (size_t i = 0; i < sizes.size(); ++i) {
    matrices.push_back(test::random_int4_matrix(sizes[i].n, sizes[i].k, sizes[i].group, unsigned(i + 1)));
    for (TensorToWrite& t : stored(fmt::format("layers.{}.down", i), matrices.back())) tensors.push_back(std::move(t));
  }
  write_safetensors_file(dir_ / "rank-0.safetensors", tensors);
  for (size_t i = 0; i < sizes.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << sizes[i].n << "x" << sizes[i].k << " g" << sizes[i].group);
    const RankFileSource source(dir_ / "rank-0.safetensors", sizes[i].group);
    const RankTensor t{RankField::Down, int(i), {sizes[i].n, sizes[i].k}, true};
    const HostInt4Matrix back = source.get_int4(t);
    EXPECT_EQ(back.n, sizes[i].n);
    EXPECT_EQ(back.k, sizes[i].k);
    EXPECT_EQ(back.group_size, sizes[i].group);
    EXPECT_EQ(back.q, matrices[i].q);
    EXPECT_EQ(back.zeros, matrices[i].zeros);
    EXPECT_EQ(back.scales, matrices[i].scales);
  }
}

TEST_F(RankFileInt4, AMissingOrMisshapenTensorIsAnErrorNamingFileAndTensor) {
  const HostInt4Matrix m = test::random_int4_matrix(16, 64, 32, 7);
  std::vector<TensorToWrite> tensors = stored("layers.0.qkv", m);
  tensors.erase(tensors.begin() + 1);  // no zeros
  write_safetensors_file(dir_ / "rank-0.safetensors", tensors);
  const RankFileSource source(dir_ / "rank-0.safetensors", 32);
  std::string e = error_of([&] { source.get_int4({RankField::Qkv, 0, {16, 64}, true}); });
  EXPECT_NE(e.find("rank-0.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("layers.0.qkv.zeros"), std::string::npos) << e;
  e = error_of([&] { source.get_int4({RankField::Qkv, 0, {16, 128}, true}); });  // the config implies another shape
  EXPECT_NE(e.find("layers.0.qkv.q4"), std::string::npos) << e;
  EXPECT_NE(e.find("shape"), std::string::npos) << e;
  // A source without a group size holds no 4-bit weights.
  e = error_of([&] { RankFileSource(dir_ / "rank-0.safetensors").get_int4({RankField::Qkv, 0, {16, 64}, true}); });
  EXPECT_NE(e.find("no 4-bit weights"), std::string::npos) << e;
}

TEST_F(RankFileInt4, ScalesInAnotherDtypeAreAnError) {
  const HostInt4Matrix m = test::random_int4_matrix(8, 64, 32, 3);
  std::vector<TensorToWrite> tensors = stored("layers.1.o_proj", m);
  tensors[2].dtype = DType::BF16;  // same size, wrong type
  write_safetensors_file(dir_ / "rank-0.safetensors", tensors);
  const std::string e = error_of(
      [&] { RankFileSource(dir_ / "rank-0.safetensors", 32).get_int4({RankField::OProj, 1, {8, 64}, true}); });
  EXPECT_NE(e.find("layers.1.o_proj.scales"), std::string::npos) << e;
  EXPECT_NE(e.find("float16"), std::string::npos) << e;
}

}  // namespace
}  // namespace turbine
