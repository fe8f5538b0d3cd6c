// Turns the tool-call text a model writes into OpenAI `tool_calls`, piece by piece as the text
// streams in (the non-streaming answer feeds the whole reply through the same parser).
//
// qwen (Hermes style, Qwen2.5/Qwen3): `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`
// blocks, any number, anywhere in the reply. llama3 (Llama-3.1/3.2 JSON tool calling): a reply that
// starts with `{` (or `<|python_tag|>`) is `{"name": ..., "parameters": {...}}` objects separated by
// `;`. Text that may still become a call is held back; a call is given whole once its JSON is
// complete. A call whose JSON does not parse stays content, as does everything after it in a llama3
// reply. The content is the text outside the calls less the whitespace that only leads into the
// first call or trails after the last one.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/reply_delta.h"

namespace turbine::server {

enum class ToolCallFormat { Llama3, Qwen };

// The names of --tool-call-parser.
const std::vector<std::pair<std::string, ToolCallFormat>>& tool_call_format_names();

class ToolCallParser {
 public:
  explicit ToolCallParser(ToolCallFormat format) : format_(format) {}

  // The content and the calls that `text` completes (its deltas' reasoning is empty).
  ReplyDelta feed(std::string_view text);
  // The end of the reply: what was held back is content unless it completes a call.
  ReplyDelta finish();
  int calls() const { return calls_; }

 private:
  void scan_qwen(bool at_end, ReplyDelta& out);
  void scan_llama3(bool at_end, ReplyDelta& out);
  // Adds the call when `json_text` is one; false when it is not (the caller keeps it as content).
  bool add_call(std::string_view json_text, ReplyDelta& out);
  // Text outside calls: trailing whitespace waits for more content (a call after it drops it).
  void add_content(std::string_view text, ReplyDelta& out);

  enum class Llama3State { Start, Calls, Content };

  ToolCallFormat format_;
  std::string buffer_;    // text received and not yet given out
  bool in_call_ = false;  // qwen: after `<tool_call>`
  Llama3State llama3_ = Llama3State::Start;
  std::string held_space_;      // trailing whitespace of the content so far
  bool content_given_ = false;  // some content went out
  bool after_call_ = false;     // the last thing given out was a call
  int calls_ = 0;
};

// "call_" and 24 random hex digits.
std::string make_tool_call_id();

// The start of the call block in `format`, which the server ends the prompt with when the request
// forces a call (tool_choice "required" or a named function; tool_call_grammar.h then guides the
// call object that follows). The reply's parser reads it first, as if the model had written it.
// qwen: `<tool_call>\n`; llama3: nothing, as its calls are bare JSON objects (the grammar makes the
// reply start with `{`).
std::string forced_tool_call_opening(ToolCallFormat format);

}  // namespace turbine::server
