// A streamed reply without its leading and trailing white space: the blank line after each reply is
// what separates turns over a pipe (`turbine chat`, `turbine client`). White space is held back until
// more text follows it, so nothing trailing is ever printed.
#pragma once
#include <string>
#include <string_view>

namespace turbine::cli {

class ReplyTrimmer {
 public:
  // The part of `text` that may be printed now.
  std::string take(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
        if (started_) pending_ += c;
        continue;
      }
      started_ = true;
      out += pending_;
      pending_.clear();
      out += c;
    }
    return out;
  }

 private:
  bool started_ = false;
  std::string pending_;
};

}  // namespace turbine::cli
