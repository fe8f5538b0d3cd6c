// What the reply parsers make of a piece of model text: the reasoning, the content and whole tool
// calls. A chat answer is the sum of its deltas; a streamed chat chunk is one delta.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

namespace turbine::server {

struct ToolCall {
  int index = 0;   // the call's position in the reply (0, 1, ...)
  std::string id;  // "call_<random>"
  std::string name;
  std::string arguments;  // a JSON object as text
};

struct ReplyDelta {
  std::string reasoning;  // reasoning_content
  std::string content;
  std::vector<ToolCall> tool_calls;

  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
  void append(ReplyDelta&& more) {
    reasoning += more.reasoning;
    content += more.content;
    for (ToolCall& call : more.tool_calls) tool_calls.push_back(std::move(call));
  }
};

// The longest tail of `text` that is a proper start of `marker`: text that a later piece may complete
// into the marker, so it is held back until that is decided.
inline size_t partial_marker_length(const std::string& text, const std::string& marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n)
    if (text.compare(text.size() - n, n, marker, 0, n) == 0) return n;
  return 0;
}

}  // namespace turbine::server
