// The chat reply parsers (src/server/reply_parser.h: --reasoning-parser, --tool-call-parser) on
// text as Qwen2.5, Qwen3 and Llama-3.1 write it, fed whole and split into pieces of every size and
// at every position: the sum of the deltas is the same however the text arrives.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "server/reply_parser.h"

using namespace turbine::server;

namespace {

struct Call {
  std::string name, arguments;
  bool operator==(const Call&) const = default;
};

struct Reply {
  std::string reasoning, content;
  std::vector<Call> calls;
  bool operator==(const Reply&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Reply& r) {
  os << "reasoning=" << nlohmann::json(r.reasoning).dump() << " content=" << nlohmann::json(r.content).dump();
  for (const Call& c : r.calls) os << " call " << c.name << c.arguments;
  return os;
}

void add(Reply& reply, ReplyDelta delta, int& next_index) {
  reply.reasoning += delta.reasoning;
  reply.content += delta.content;
  for (const ToolCall& call : delta.tool_calls) {
    EXPECT_EQ(call.index, next_index++);
    EXPECT_EQ(call.id.rfind("call_", 0), 0u);
    EXPECT_EQ(call.id.size(), 5u + 24u);
    reply.calls.push_back({call.name, call.arguments});
  }
}

Reply parse_pieces(const ReplyParsing& parsing, const std::vector<std::string>& pieces) {
  ReplyParser parser(parsing);
  Reply reply;
  int next_index = 0;
  for (const std::string& piece : pieces) add(reply, parser.feed(piece), next_index);
  add(reply, parser.finish(), next_index);
  EXPECT_EQ(parser.tool_calls(), int(reply.calls.size()));
  return reply;
}

// Whole, in pieces of every size from 1 byte up (multi-byte UTF-8 is cut too), and cut in two at
// every position: each way gives `expected`.
void check(const ReplyParsing& parsing, const std::string& text, const Reply& expected) {
  SCOPED_TRACE(text);
  EXPECT_EQ(parse_pieces(parsing, {text}), expected);
  for (size_t size = 1; size < text.size(); ++size) {
    std::vector<std::string> pieces;
    for (size_t i = 0; i < text.size(); i += size) pieces.push_back(text.substr(i, size));
    ASSERT_EQ(parse_pieces(parsing, pieces), expected) << "pieces of " << size;
  }
  for (size_t cut = 0; cut <= text.size(); ++cut)
    ASSERT_EQ(parse_pieces(parsing, {text.substr(0, cut), text.substr(cut)}), expected) << "cut at " << cut;
}

ReplyParsing tools(ToolCallFormat format) {
  ReplyParsing p;
  p.tool_calls = format;
  return p;
}

ReplyParsing reasoning(ReasoningFormat format, bool prompt_opened = false) {
  ReplyParsing p;
  p.reasoning = format;
  p.prompt_opened_reasoning = prompt_opened;
  return p;
}

const ReplyParsing kQwen = tools(ToolCallFormat::Qwen);
const ReplyParsing kLlama3 = tools(ToolCallFormat::Llama3);

}  // namespace

TEST(QwenToolCalls, OneCall) {
  check(kQwen,
        "<tool_call>\n{\"name\": \"get_current_weather\", \"arguments\": {\"location\": \"San Francisco, CA\", "
        "\"unit\": \"fahrenheit\"}}\n</tool_call>",
        {"", "", {{"get_current_weather", R"({"location":"San Francisco, CA","unit":"fahrenheit"})"}}});
}

TEST(QwenToolCalls, SeveralCallsAfterContentWithMultiByteArguments) {
  check(kQwen,
        "I'll look up both cities for you.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"東京\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
        "{\"city\": \"Zürich\", \"note\": \"🌧 \\\"rain\\\"\"}}\n</tool_call>",
        {"",
         "I'll look up both cities for you.",
         {{"get_weather", R"({"city":"東京","unit":"celsius"})"},
          {"get_weather", R"({"city":"Zürich","note":"🌧 \"rain\""})"}}});
}

TEST(QwenToolCalls, ContentBetweenAndAfterCallsIsKept) {
  check(kQwen,
        "First:\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\nthen\n<tool_call>\n{\"name\": "
        "\"b\", \"arguments\": {\"x\": [1, 2.5, null]}}\n</tool_call>\nDone. ",
        {"", "First:\n\n\nthen\n\nDone. ", {{"a", "{}"}, {"b", R"({"x":[1,2.5,null]})"}}});
}

TEST(QwenToolCalls, PlainTextIsContentUnchanged) {
  const std::string text = "No tools needed: 2 < 3 and <tool is a word; <tool_ca\n ";
  check(kQwen, text, {"", text, {}});
}

TEST(QwenToolCalls, MalformedCallsStayContent) {
  // A missing brace, a call without a name, arguments that are not an object.
  const std::string missing_brace =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}\n</tool_call>";
  check(kQwen, missing_brace, {"", missing_brace, {}});
  const std::string no_name = "<tool_call>\n{\"arguments\": {}}\n</tool_call>";
  check(kQwen, no_name, {"", no_name, {}});
  const std::string bad_arguments = "<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>";
  check(kQwen, bad_arguments, {"", bad_arguments, {}});
  // A bad block does not spoil the good one after it.
  check(kQwen, no_name + "\n<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}\n</tool_call>",
        {"", no_name, {{"f", R"({"a":1})"}}});
}

TEST(QwenToolCalls, ReplyEndingInsideACall) {
  // Cut by max_tokens: the partial call is content. Without the closing tag a complete call still counts.
  const std::string cut = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"argu";
  check(kQwen, cut, {"", cut, {}});
  check(kQwen, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"k\": \"v\"}}\n", {"", "", {{"f", R"({"k":"v"})"}}});
}

TEST(Llama3ToolCalls, OneCall) {
  check(kLlama3,
        "{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San Francisco, CA\", \"unit\": "
        "\"Fahrenheit\"}}",
        {"", "", {{"get_current_conditions", R"({"location":"San Francisco, CA","unit":"Fahrenheit"})"}}});
}

TEST(Llama3ToolCalls, PythonTagAndSeveralCalls) {
  check(kLlama3,
        "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; {\"name\": "
        "\"get_weather\", \"parameters\": {\"city\": \"Zürich\", \"when\": \"明天 }{\"}}",
        {"", "", {{"get_weather", R"({"city":"Paris"})"}, {"get_weather", R"({"city":"Zürich","when":"明天 }{"})"}}});
  check(kLlama3, "\n\n{\"type\": \"function\", \"name\": \"noop\", \"parameters\": {}};\n", {"", "", {{"noop", "{}"}}});
}

TEST(Llama3ToolCalls, TextIsContent) {
  const std::string text = "The capital of France is Paris. As JSON: {\"capital\": \"Paris\"}\n";
  check(kLlama3, text, {"", text, {}});
  check(kLlama3, "  <|python", {"", "  <|python", {}});
}

TEST(Llama3ToolCalls, MalformedOrCutCallsStayContent) {
  const std::string cut = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Par";
  check(kLlama3, cut, {"", cut, {}});
  const std::string no_name = "{\"parameters\": {\"city\": \"Paris\"}}";
  check(kLlama3, no_name, {"", no_name, {}});
  // After a good call, a bad one and what follows are content.
  check(kLlama3, "{\"name\": \"a\", \"parameters\": {}}; {\"name\": 5} and more",
        {"", "; {\"name\": 5} and more", {{"a", "{}"}}});
  check(kLlama3, "{\"name\": \"a\", \"parameters\": {}}\nThat is the call.", {"", "That is the call.", {{"a", "{}"}}});
}

TEST(Qwen3Reasoning, ThinkBlockThenContent) {
  check(reasoning(ReasoningFormat::Qwen3),
        "<think>\nThe user greets me in 日本語. Reply briefly.\n</think>\n\nこんにちは! How can I help?",
        {"\nThe user greets me in 日本語. Reply briefly.\n", "こんにちは! How can I help?", {}});
}

TEST(Qwen3Reasoning, OutputWithoutTheOpeningTag) {
  // The template put `<think>` into the prompt: the reply only closes the reasoning.
  check(reasoning(ReasoningFormat::Qwen3, true), "Let me think: 2 + 2 = 4.\n</think>\n\nThe answer is 4.",
        {"Let me think: 2 + 2 = 4.\n", "The answer is 4.", {}});
  // The model repeats the opening tag all the same.
  check(reasoning(ReasoningFormat::Qwen3, true), "<think>\nhm\n</think>\n\nok", {"\nhm\n", "ok", {}});
  // deepseek-r1 always starts in the reasoning.
  check(reasoning(ReasoningFormat::DeepSeekR1), "Okay, so...</think>Paris.", {"Okay, so...", "Paris.", {}});
}

TEST(Qwen3Reasoning, NoReasoningAndCutReasoning) {
  // enable_thinking=false (the prompt holds an empty think block): all content, tags in it untouched.
  check(reasoning(ReasoningFormat::Qwen3), "Paris. </think> <think>", {"", "Paris. </think> <think>", {}});
  check(reasoning(ReasoningFormat::Qwen3), "  <thin", {"", "  <thin", {}});
  // Cut by max_tokens inside the reasoning: all of it is reasoning.
  check(reasoning(ReasoningFormat::Qwen3), "<think>\nStep 1: ü </thi", {"\nStep 1: ü </thi", "", {}});
  check(reasoning(ReasoningFormat::Qwen3, true), "Step 1", {"Step 1", "", {}});
}

TEST(ReplyParser, ReasoningThenToolCalls) {
  ReplyParsing both = reasoning(ReasoningFormat::Qwen3);
  both.tool_calls = ToolCallFormat::Qwen;
  check(both,
        "<think>\nThe user wants the weather in Tokyo; I should call get_weather. <tool_call> is how.\n</think>\n\n"
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>",
        {"\nThe user wants the weather in Tokyo; I should call get_weather. <tool_call> is how.\n",
         "",
         {{"get_weather", R"({"city":"東京"})"}}});
}

TEST(ReplyParser, PromptOpensReasoning) {
  EXPECT_TRUE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n"));
}

// tool_choice "required" or a named function: the prompt ends with the call block's opening and the
// parser reads it first; the guided reply is the call object, and a qwen reply ends right after it
// (the value is complete, so only a stop id may follow), without `</tool_call>`.
TEST(ForcedToolCalls, OpeningOfEachFormat) {
  EXPECT_EQ(forced_tool_call_opening(ToolCallFormat::Qwen), "<tool_call>\n");
  EXPECT_EQ(forced_tool_call_opening(ToolCallFormat::Llama3), "");
}

TEST(ForcedToolCalls, TheModelWritesTheCallObject) {
  ReplyParsing qwen = kQwen;
  qwen.forced_prefix = forced_tool_call_opening(ToolCallFormat::Qwen);
  check(qwen, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}",
        {"", "", {{"get_weather", R"({"city":"東京"})"}}});
  check(qwen, " \r\n{\"name\":\"lookup\",\"arguments\":{}}", {"", "", {{"lookup", "{}"}}});
  check(qwen, "{\"name\": \"lookup\", \"arguments\": {\"q\": \"light\"}}\n</tool_call>",
        {"", "", {{"lookup", R"({"q":"light"})"}}});
  ReplyParsing llama3 = kLlama3;
  llama3.forced_prefix = forced_tool_call_opening(ToolCallFormat::Llama3);
  check(llama3, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
        {"", "", {{"get_weather", R"({"city":"Paris"})"}}});
  check(llama3, "\n {\"name\": \"a\", \"parameters\": {}}", {"", "", {{"a", "{}"}}});
  // With the reasoning parser too (the prompt did not open a reasoning block).
  ReplyParsing both = reasoning(ReasoningFormat::Qwen3);
  both.tool_calls = ToolCallFormat::Qwen;
  both.forced_prefix = qwen.forced_prefix;
  check(both, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}",
        {"", "", {{"get_weather", R"({"city":"Oslo"})"}}});
}

TEST(ForcedToolCalls, ACallCutShortKeepsTheOpeningAsContent) {
  ReplyParsing qwen = kQwen;
  qwen.forced_prefix = forced_tool_call_opening(ToolCallFormat::Qwen);
  // Cut by max_tokens: the whole text, opening included, is content.
  check(qwen, "{\"name\": \"get_weather\", \"argu", {"", "<tool_call>\n{\"name\": \"get_weather\", \"argu", {}});
  ReplyParsing llama3 = kLlama3;
  llama3.forced_prefix = forced_tool_call_opening(ToolCallFormat::Llama3);
  check(llama3, "{\"name\": \"a\", \"parameters\": {\"x\"", {"", "{\"name\": \"a\", \"parameters\": {\"x\"", {}});
}
