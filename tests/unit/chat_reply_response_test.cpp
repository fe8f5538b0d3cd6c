// The chat answer and chunks (src/server/openai_response.h) for replies the parsers split: content,
// reasoning_content and tool_calls in OpenAI's shape, null content for a reply of calls only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/openai_response.h"

using namespace turbine::server;
using nlohmann::json;

namespace {

ResponseHeader chat_header() {
  ResponseHeader h;
  h.kind = ApiKind::Chat;
  h.id = "chatcmpl-1";
  h.model = "m";
  return h;
}

ReplyDelta reply_with_call() {
  ReplyDelta d;
  d.reasoning = "Need the weather.";
  d.tool_calls.push_back({0, "call_abc", "get_weather", R"({"city":"東京"})"});
  return d;
}

json event_json(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u);
  return json::parse(event.substr(6));
}

}  // namespace

TEST(ChatReplyResponse, WholeAnswerWithToolCalls) {
  ChoiceResult c;
  c.text = "<think>Need the weather.</think><tool_call>...</tool_call>";
  c.finish_reason = "tool_calls";
  c.parsed = reply_with_call();
  c.has_reasoning = true;
  const json body = json::parse(full_response(chat_header(), {c}, Usage{3, 4}));
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  const json& message = choice["message"];
  EXPECT_TRUE(message["content"].is_null());
  EXPECT_EQ(message["reasoning_content"], "Need the weather.");
  EXPECT_EQ(message["tool_calls"], json::parse(R"([{"id": "call_abc", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\":\"東京\"}"}}])"));
}

TEST(ChatReplyResponse, WholeAnswerWithoutCallsOrReasoning) {
  ChoiceResult c;
  c.text = "Hello";
  c.finish_reason = "stop";
  c.parsed = ReplyDelta{"", "Hello", {}};
  const json message = json::parse(full_response(chat_header(), {c}, Usage{}))["choices"][0]["message"];
  EXPECT_EQ(message, json::parse(R"({"role": "assistant", "content": "Hello"})"));
  c.has_reasoning = true;  // the reasoning parser ran: the field is there, null
  const json with = json::parse(full_response(chat_header(), {c}, Usage{}))["choices"][0]["message"];
  EXPECT_TRUE(with.contains("reasoning_content") && with["reasoning_content"].is_null());
  EXPECT_EQ(with["content"], "Hello");
}

TEST(ChatReplyResponse, StreamedDeltas) {
  const ResponseHeader h = chat_header();
  const json call = event_json(stream_event(h, 0, reply_with_call(), {}, false, nullptr));
  const json& delta = call["choices"][0]["delta"];
  EXPECT_FALSE(delta.contains("content"));
  EXPECT_EQ(delta["reasoning_content"], "Need the weather.");
  EXPECT_EQ(delta["tool_calls"], json::parse(R"([{"index": 0, "id": "call_abc", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\":\"東京\"}"}}])"));
  const std::string reason = "tool_calls";
  const json last = event_json(stream_event(h, 0, ReplyDelta{}, {}, false, &reason));
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "tool_calls");
  // The first chunk carries the role, and an empty content only when it has nothing else.
  const json first = event_json(stream_event(h, 0, ReplyDelta{}, {}, true, nullptr));
  EXPECT_EQ(first["choices"][0]["delta"], json::parse(R"({"role": "assistant", "content": ""})"));
  const json first_reasoning = event_json(stream_event(h, 0, ReplyDelta{"hm", "", {}}, {}, true, nullptr));
  EXPECT_EQ(first_reasoning["choices"][0]["delta"], json::parse(R"({"role": "assistant", "reasoning_content": "hm"})"));
}
