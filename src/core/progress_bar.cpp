#include "core/progress_bar.h"

#include <unistd.h>

#include <algorithm>

namespace turbine {

ProgressBar::ProgressBar(std::string label, std::FILE* out)
    : ProgressBar(std::move(label), out, isatty(fileno(out)) != 0) {}

ProgressBar::ProgressBar(std::string label, std::FILE* out, bool enabled)
    : label_(std::move(label)), out_(out), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(size_t done, size_t total) {
  if (!enabled_ || total == 0) return;
  const int percent = int(std::min<size_t>(100, done * 100 / total));
  if (percent == last_percent_) return;  // redraw only when the figure changes
  last_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(out_, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str(), percent);
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace turbine
