#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/progress_bar.h"

using namespace turbine;

namespace {
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(char(c));
  return s;
}
}  // namespace

TEST(ProgressBar, DrawsPercentagesAndEndsTheLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("loading", f, true);
    bar.update(0, 200);
    bar.update(1, 200);  // still 0%: not redrawn
    bar.update(100, 200);
    bar.update(200, 200);
  }
  const std::string out = contents(f);
  EXPECT_NE(out.find("loading ["), std::string::npos);
  EXPECT_NE(out.find(" 50%"), std::string::npos);
  EXPECT_NE(out.find("100%"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 3);
  EXPECT_EQ(out.back(), '\n');
  std::fclose(f);
}

TEST(ProgressBar, SilentWhenNotATerminal) {
  std::FILE* f = std::tmpfile();  // a file is not a terminal
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("loading", f);
    bar.update(5, 10);
  }
  EXPECT_EQ(contents(f), "");
  std::fclose(f);
}
