// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay clean).
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace turbine {

class ProgressBar {
 public:
  // `out` defaults to stderr; `enabled` defaults to "out is a terminal".
  explicit ProgressBar(std::string label, std::FILE* out = stderr);
  ProgressBar(std::string label, std::FILE* out, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(size_t done, size_t total);
  // Ends the line (idempotent).
  void finish();

 private:
  std::string label_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

}  // namespace turbine
