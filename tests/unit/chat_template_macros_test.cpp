// Macros as jinja2 runs them: call blocks with caller(), varargs/kwargs when the body reads them, and
// `*list` / `**dict` in calls; misuse ends in jinja2's own message after the template position.
#include <gtest/gtest.h>

#include "core/error.h"
#include "chat/chat_template.h"

using namespace turbine;

namespace {

std::string render(const std::string& source) { return ChatTemplate(source).render({}); }

// The message after "chat template line L, column C: ".
std::string error_of(const std::string& source) {
  try {
    render(source);
  } catch (const Error& e) {
    std::string m = e.what();
    size_t cut = m.find(": ");
    return m.rfind("chat template line ", 0) == 0 && cut != std::string::npos ? m.substr(cut + 2) : m;
  }
  return "<no error>";
}

}  // namespace

TEST(ChatTemplateMacros, CallBlockPassesItsBodyAsCaller) {
  EXPECT_EQ(render("{% macro box(t) %}[{{ t }}:{{ caller() }}]{% endmacro %}{% call box(1) %}in{% endcall %}"),
            "[1:in]");
  EXPECT_EQ(render("{% macro each(l) %}{% for x in l %}{{ caller(x, loop.index) }}{% endfor %}{% endmacro %}"
                   "{% call(v, i, sep='.') each('ab') %}{{ i }}{{ sep }}{{ v }} {% endcall %}"),
            "1.a 2.b ");
  EXPECT_EQ(render("{% macro o() %}<{{ caller() }}>{% endmacro %}{% macro i() %}({{ caller() }}){% endmacro %}"
                   "{% set x = 'v' %}{% call o() %}{% call i() %}{{ x }}{% endcall %}{% endcall %}"),
            "<(v)>");
}

TEST(ChatTemplateMacros, CallerWithoutACallBlock) {
  EXPECT_EQ(render("{% macro m() %}[{{ caller }}]{{ caller is defined }}{% endmacro %}{{ m() }}"), "[]False");
  EXPECT_EQ(error_of("{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}"), "No caller defined");
  EXPECT_EQ(error_of("{% macro m() %}x{% endmacro %}{% call m() %}body{% endcall %}"),
            "macro 'm' was invoked with two values for the special caller argument. This is most likely a bug.");
  EXPECT_EQ(error_of("{% macro m() %}{{ caller(1, 2) }}{% endmacro %}{% call(a) m() %}{% endcall %}"),
            "macro None takes not more than 1 argument(s)");
  EXPECT_EQ(error_of("{% call(x) m %}{% endcall %}"), "expected call");
  EXPECT_NE(error_of("{% macro m(caller) %}{{ caller() }}{% endmacro %}").find("must be omitted or be given a default"),
            std::string::npos);
}

TEST(ChatTemplateMacros, VarargsAndKwargsOnlyWhenTheBodyReadsThem) {
  EXPECT_EQ(render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}"),
            "1(2, 3){'k': 'v'}");
  EXPECT_EQ(render("{% macro m() %}{{ varargs }}{% endmacro %}{{ m(1) }}"), "(1,)");
  EXPECT_EQ(error_of("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}"),
            "macro 'm' takes not more than 1 argument(s)");
  EXPECT_EQ(error_of("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, b=2) }}"),
            "macro 'm' takes no keyword argument 'b'");
  EXPECT_EQ(error_of("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}"),
            "macro 'm' takes no keyword argument 'a'");
  // A body that assigns `varargs` before reading it does not take extra arguments.
  EXPECT_EQ(error_of("{% macro m() %}{% set varargs = 0 %}{{ varargs }}{% endmacro %}{{ m(1) }}"),
            "macro 'm' takes not more than 0 argument(s)");
}

TEST(ChatTemplateMacros, CallsSpreadListsAndDicts) {
  EXPECT_EQ(render("{% macro m(a, b=0) %}{{ a }}{{ b }}{% endmacro %}{{ m(*[1, 2]) }} {{ m(**{'b': 4, 'a': 3}) }} "
                   "{{ m(b=6, *[5]) }} {{ m(*'x') }}"),
            "12 34 56 x0");
  EXPECT_EQ(render("{{ ['a', 'b']|join(*['-']) }} {{ range(*[1, 4])|list }} {{ dict(j=2, **{'k': 1}) }}"),
            "a-b [1, 2, 3] {'j': 2, 'k': 1}");
  EXPECT_EQ(error_of("{% macro m(a) %}{% endmacro %}{{ m(*1) }}"), "Value after * must be an iterable, not int");
  EXPECT_EQ(error_of("{% macro m(a) %}{% endmacro %}{{ m(**[1]) }}"), "argument after ** must be a mapping, not list");
  EXPECT_EQ(error_of("{{ range(*[1], *[2]) }}"), "invalid syntax for function call expression");
  EXPECT_EQ(error_of("{{ range(**{'a': 1}, a=2) }}"), "invalid syntax for function call expression");
  EXPECT_EQ(error_of("{{ range(*[1], 2) }}"), "invalid syntax for function call expression");
  EXPECT_EQ(error_of("{% macro m(a=0) %}{% endmacro %}{{ m(a=1, **{'a': 2}) }}"),
            "got multiple values for keyword argument 'a'");
}
