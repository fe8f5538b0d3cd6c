#include "server/tool_call_parser.h"

#include <fmt/format.h>

#include <random>

#include <nlohmann/json.hpp>

namespace turbine::server {

namespace {

using Json = nlohmann::ordered_json;

const std::string kQwenOpen = "<tool_call>";
const std::string kQwenClose = "</tool_call>";
const std::string kPythonTag = "<|python_tag|>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t skip_space(const std::string& s, size_t i = 0) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// The length of the JSON object that starts `s` (at a '{'), or 0 while it is not closed yet.
size_t object_length(const std::string& s) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return 0;
}

// The call's arguments as JSON text: an object, or a string holding one (absent: no arguments).
std::optional<std::string> arguments_text(const Json& call, const char* key) {
  auto it = call.find(key);
  if (it == call.end() || it->is_null()) return "{}";
  if (it->is_object()) return it->dump();
  if (it->is_string()) {
    const Json parsed = Json::parse(it->get<std::string>(), nullptr, false);
    if (parsed.is_object()) return parsed.dump();
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::pair<std::string, ToolCallFormat>>& tool_call_format_names() {
  static const std::vector<std::pair<std::string, ToolCallFormat>> names = {{"llama3", ToolCallFormat::Llama3},
                                                                            {"qwen", ToolCallFormat::Qwen}};
  return names;
}

std::string forced_tool_call_opening(ToolCallFormat format) {
  return format == ToolCallFormat::Qwen ? kQwenOpen + "\n" : std::string();
}

std::string make_tool_call_id() {
  std::random_device rd;
  return fmt::format("call_{:08x}{:08x}{:08x}", rd(), rd(), rd());
}

ReplyDelta ToolCallParser::feed(std::string_view text) {
  ReplyDelta out;
  buffer_ += text;
  if (format_ == ToolCallFormat::Qwen)
    scan_qwen(false, out);
  else
    scan_llama3(false, out);
  return out;
}

ReplyDelta ToolCallParser::finish() {
  ReplyDelta out;
  if (format_ == ToolCallFormat::Qwen)
    scan_qwen(true, out);
  else
    scan_llama3(true, out);
  if (!after_call_) out.content += held_space_;
  held_space_.clear();
  return out;
}

void ToolCallParser::scan_qwen(bool at_end, ReplyDelta& out) {
  while (true) {
    if (!in_call_) {
      const size_t open = buffer_.find(kQwenOpen);
      if (open == std::string::npos) {
        const size_t ready = buffer_.size() - (at_end ? 0 : partial_marker_length(buffer_, kQwenOpen));
        add_content(std::string_view(buffer_).substr(0, ready), out);
        buffer_.erase(0, ready);
        return;
      }
      add_content(std::string_view(buffer_).substr(0, open), out);
      buffer_.erase(0, open + kQwenOpen.size());
      in_call_ = true;
      continue;
    }
    const size_t close = buffer_.find(kQwenClose);
    if (close == std::string::npos) {
      if (!at_end) return;
      // The reply ended inside a block: a complete call still counts, a cut one is content.
      in_call_ = false;
      if (!add_call(buffer_, out)) add_content(kQwenOpen + buffer_, out);
      buffer_.clear();
      return;
    }
    const std::string body = buffer_.substr(0, close);
    buffer_.erase(0, close + kQwenClose.size());
    in_call_ = false;
    if (!add_call(body, out)) add_content(kQwenOpen + body + kQwenClose, out);
  }
}

void ToolCallParser::scan_llama3(bool at_end, ReplyDelta& out) {
  if (llama3_ == Llama3State::Start) {
    // The reply is calls only when it starts with one: `<|python_tag|>` or `{` after any whitespace.
    const size_t start = skip_space(buffer_);
    const std::string_view rest = std::string_view(buffer_).substr(start);
    if (rest.empty() && !at_end) return;
    if (rest.substr(0, kPythonTag.size()) == kPythonTag) {
      buffer_.erase(0, start + kPythonTag.size());
      llama3_ = Llama3State::Calls;
    } else if (!at_end && rest.size() < kPythonTag.size() && kPythonTag.compare(0, rest.size(), rest) == 0) {
      return;
    } else if (!rest.empty() && rest.front() == '{') {
      llama3_ = Llama3State::Calls;
    } else {
      llama3_ = Llama3State::Content;
    }
  }
  while (llama3_ == Llama3State::Calls) {
    size_t start = skip_space(buffer_);
    if (calls_ > 0 && start < buffer_.size()) {
      // Calls after the first follow a ';'; anything else ends the calls.
      if (buffer_[start] != ';') {
        llama3_ = Llama3State::Content;
        break;
      }
      start = skip_space(buffer_, start + 1);
    }
    if (start == buffer_.size()) {
      if (at_end) buffer_.clear();  // only whitespace (or a last ';') after the calls
      return;
    }
    if (buffer_[start] != '{') {
      llama3_ = Llama3State::Content;
      break;
    }
    const size_t length = object_length(buffer_.substr(start));
    if (length == 0) {
      if (!at_end) return;
      llama3_ = Llama3State::Content;  // the reply ended inside the JSON
      break;
    }
    if (!add_call(std::string_view(buffer_).substr(start, length), out)) {
      llama3_ = Llama3State::Content;
      break;
    }
    buffer_.erase(0, start + length);
  }
  if (llama3_ == Llama3State::Content) {
    add_content(buffer_, out);
    buffer_.clear();
  }
}

bool ToolCallParser::add_call(std::string_view json_text, ReplyDelta& out) {
  const Json call = Json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (!call.is_object()) return false;
  auto name = call.find("name");
  if (name == call.end() || !name->is_string() || name->get<std::string>().empty()) return false;
  std::optional<std::string> arguments =
      arguments_text(call, call.contains("arguments") || format_ == ToolCallFormat::Qwen ? "arguments" : "parameters");
  if (!arguments) return false;
  if (!content_given_) held_space_.clear();  // whitespace before the first call
  after_call_ = true;
  out.tool_calls.push_back({calls_++, make_tool_call_id(), name->get<std::string>(), std::move(*arguments)});
  return true;
}

void ToolCallParser::add_content(std::string_view text, ReplyDelta& out) {
  std::string pending = held_space_ + std::string(text);
  held_space_.clear();
  if (!content_given_ && calls_ > 0) pending.erase(0, skip_space(pending));
  size_t end = pending.size();
  while (end > 0 && is_space(pending[end - 1])) --end;
  if (end == 0) {
    held_space_ = std::move(pending);  // only whitespace: it waits for more content
    return;
  }
  content_given_ = true;
  after_call_ = false;
  out.content.append(pending, 0, end);
  held_space_ = pending.substr(end);
}

}  // namespace turbine::server
