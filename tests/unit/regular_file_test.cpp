#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/byte_size.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/regular_file.h"
#include "support/test_helpers.h"

using namespace turbine;
namespace fs = std::filesystem;

namespace {

using test::error_of;

class RegularFile : public ::testing::Test {
 protected:
  test::ScratchDir scratch_{"turbine_regular_file"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(RegularFile, AcceptsAFileAndALinkToOne) {
  std::ofstream(dir_ / "config.json") << "{}";
  fs::create_symlink(dir_ / "config.json", dir_ / "link.json");
  EXPECT_NO_THROW(require_regular_file(dir_ / "config.json"));
  EXPECT_NO_THROW(require_regular_file(dir_ / "link.json"));
  EXPECT_EQ(read_text_file(dir_ / "link.json"), "{}");
}

TEST_F(RegularFile, NamesWhatItIsInstead) {
  fs::create_directory(dir_ / "config.json");
  ASSERT_EQ(::mkfifo((dir_ / "tokenizer.json").c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { require_regular_file(dir_ / "config.json"); }),
            (dir_ / "config.json").string() + ": is a folder, not a file");
  EXPECT_EQ(error_of([&] { require_regular_file(dir_ / "tokenizer.json", "--tokenizer"); }),
            "--tokenizer " + (dir_ / "tokenizer.json").string() + ": is a FIFO (named pipe), not a regular file");
  EXPECT_EQ(error_of([&] { require_regular_file("/dev/null"); }),
            "/dev/null: is a character device, not a regular file");
  EXPECT_EQ(error_of([&] { require_regular_file(dir_ / "absent"); }), (dir_ / "absent").string() + ": does not exist");
}

TEST_F(RegularFile, ReadersRefuseAFifoWithoutBlocking) {
  ASSERT_EQ(::mkfifo((dir_ / "model.safetensors").c_str(), 0600), 0);
  // Opening a FIFO for reading would wait for a writer forever; these must fail at once instead.
  EXPECT_NE(error_of([&] { MappedFile f(dir_ / "model.safetensors"); }).find("FIFO"), std::string::npos);
  EXPECT_NE(error_of([&] { read_text_file(dir_ / "model.safetensors"); }).find("FIFO"), std::string::npos);
}

TEST(ByteSize, RefusesSizesBeyond64BitsAndOmitsAnEmptyName) {
  EXPECT_EQ(error_of([] { parse_byte_size("99999999TiB", "--cpu-memory"); }),
            "--cpu-memory: '99999999TiB' is too large");
  EXPECT_EQ(error_of([] { parse_byte_size("0", ""); }), "'0' is zero");
  EXPECT_EQ(parse_byte_size("16777215TiB", "--x"), size_t(16777215) << 40);
}

}  // namespace
