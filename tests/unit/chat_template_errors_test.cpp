// Bad templates end in a clear Error (with the template position), never a crash.
#include <gtest/gtest.h>

#include "core/error.h"
#include "chat/chat_template.h"

using namespace turbine;

namespace {

std::string render(const std::string& source, ChatTemplateInput input = {}) {
  return ChatTemplate(source).render(input);
}

std::string error_of(const std::string& source) {
  try {
    render(source);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(ChatTemplateErrors, SyntaxErrorNamesLineAndColumn) {
  std::string msg = error_of("hello\n{{ 'a' }}\n  {% for x in %}{% endfor %}");
  EXPECT_NE(msg.find("line 3, column 15"), std::string::npos) << msg;
  msg = error_of("{% if x %}never closed");
  EXPECT_NE(msg.find("endif"), std::string::npos) << msg;
  msg = error_of("{{ 1 + }}");
  EXPECT_NE(msg.find("line 1, column 8"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, UnknownFilterTestAndTag) {
  EXPECT_NE(error_of("x\n{{ 'a'|frobnicate }}").find("No filter named 'frobnicate'"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 is frob }}").find("No test named 'frob'"), std::string::npos);
  EXPECT_NE(error_of("{% include 'x' %}").find("tag 'include'"), std::string::npos);
}

TEST(ChatTemplateErrors, RecursionAndNestingAreBounded) {
  EXPECT_NE(error_of("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}").find("recursion"), std::string::npos);
  std::string deep = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_NE(error_of(deep).find("nesting"), std::string::npos);
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if 1 %}";
  EXPECT_NE(error_of(blocks).find("nesting"), std::string::npos);
  std::string nots = "{{ " + std::string(0, ' ');
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_NE(error_of(nots + "1 }}").find("nesting"), std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000)|length }}").find("Range too big"), std::string::npos);
}

TEST(ChatTemplateErrors, RaiseExceptionMessageIsExact) {
  EXPECT_EQ(error_of("a{{ raise_exception('Only user and assistant roles are supported!') }}"),
            "Only user and assistant roles are supported!");
}

TEST(ChatTemplateErrors, RuntimeErrorsNamePosition) {
  std::string msg = error_of("\n  {{ missing.attr }}");
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'missing' is undefined"), std::string::npos) << msg;
  EXPECT_NE(error_of("{{ 'a' + 1 }}").find("can only concatenate str"), std::string::npos);
}

TEST(ChatTemplateRender, BasicsAndWhitespace) {
  ChatTemplateInput in;
  in.messages =
      nlohmann::ordered_json::parse(R"([{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}])");
  in.bos_token = "<s>";
  EXPECT_EQ(render("{{ bos_token }}{% for m in messages %}\n  {{ m.role }}: {{ m.content }}\n{% endfor %}\n", in),
            "<s>  user: hi\n  assistant: yo\n");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.0] }}|{{ {'k': 'v'} }}|{{ 1e16 }}|{{ 10 / 4 }}"),
            "[1, 'a', None, True, 2.0]|{'k': 'v'}|1e+16|2.5");
  EXPECT_EQ(render("{{ {'b': 'é', 'a': [1, 2.5, none]}|tojson }}"), R"({"b": "é", "a": [1, 2.5, null]})");
  EXPECT_EQ(
      render("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
      "6");
  EXPECT_EQ(render("{{ 'abc'[::-1] }}{{ ' x '.strip() }}{{ 'a,b'.split(',') }}"), "cbax['a', 'b']");
}

TEST(ChatTemplateErrors, DeepDataIsRefusedNotCrashed) {
  ChatTemplateInput in;
  nlohmann::ordered_json deep = nlohmann::ordered_json::array();
  for (int i = 0; i < 3000; ++i) deep = nlohmann::ordered_json::array({deep});
  in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", deep}}});
  try {
    ChatTemplate("{{ messages }}").render(in);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                     "{{ ns.x }}")
                .find("nested"),
            std::string::npos);
}
