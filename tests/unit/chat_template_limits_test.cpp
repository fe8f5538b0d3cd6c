// A chat template is untrusted input: every render ends quickly, within ChatTemplateInput::limits and the
// size ceiling on one value, with an error naming the limit; real templates stay far below them.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "chat/chat_template.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

struct Outcome {
  std::string error;  // empty when the render succeeded
  double seconds = 0;
};

Outcome render_timed(const std::string& source, ChatTemplateInput input = {}) {
  auto start = std::chrono::steady_clock::now();
  Outcome o;
  try {
    ChatTemplate(source).render(input);
  } catch (const Error& e) {
    o.error = e.what();
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

// Fails unless the render is refused with `expected` in its message, well within `max_seconds`.
void expect_refused(const std::string& source, const std::string& expected, ChatTemplateInput input = {},
                    double max_seconds = 60) {
  Outcome o = render_timed(source, input);
  EXPECT_NE(o.error.find(expected), std::string::npos)
      << source << "\n  -> " << (o.error.empty() ? "<rendered>" : o.error);
  EXPECT_LT(o.seconds, max_seconds) << source;
}

}  // namespace

TEST(ChatTemplateLimits, NestedLoopsStopAtTheStepLimit) {
  expect_refused("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
                 "render exceeded 10000000 steps");
}

TEST(ChatTemplateLimits, StepLimitIsTheCallersChoice) {
  const std::string loop = "{% for i in range(1000) %}{{ i }}{% endfor %}";
  ChatTemplateInput input;
  EXPECT_EQ(render_timed(loop, input).error, "");
  input.limits.max_steps = 500;
  Outcome o = render_timed(loop, input);
  EXPECT_NE(o.error.find("line 1, column "), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("render exceeded 500 steps"), std::string::npos) << o.error;
}

TEST(ChatTemplateLimits, OutputLimitCoversCapturedText) {
  ChatTemplateInput input;
  input.limits.max_output_bytes = 1000;
  expect_refused("{% for i in range(2000) %}x{% endfor %}", "rendered output exceeds 1000 bytes", input);
  expect_refused("{% set big %}{% for i in range(2000) %}x{% endfor %}{% endset %}",
                 "rendered output exceeds 1000 bytes", input);
  expect_refused("{% macro m() %}{% for i in range(2000) %}x{% endfor %}{% endmacro %}{% set y = m() %}",
                 "rendered output exceeds 1000 bytes", input);
  EXPECT_EQ(render_timed("{% for i in range(900) %}x{% endfor %}", input).error, "");
}

TEST(ChatTemplateLimits, DefaultOutputLimitHolds) {
  // 64 KiB a line, 2000 lines: 128 MiB of output from strings that are each small.
  expect_refused("{% set line = 'y' * 65536 %}{% for i in range(2000) %}{{ line }}{% endfor %}",
                 "rendered output exceeds 67108864 bytes");
}

TEST(ChatTemplateLimits, StringAndListBombsAreRefusedBeforeAllocating) {
  expect_refused("{{ 'x' * 10**9 }}", "string repetition would exceed the limit of 67108864 bytes");
  expect_refused("{{ ([0] * 10**9)|length }}", "list repetition would exceed the limit of 1048576 items");
  expect_refused("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                 "concatenation would exceed");
  expect_refused("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                 "concatenation would exceed the limit of 1048576 items");
  expect_refused("{% set s = 'x' * 60000000 %}{{ ([s] * 1000)|join }}", "join would exceed");
  expect_refused("{% set s = 'x' * 60000000 %}{{ ','.join([s] * 1000) }}", "str.join would exceed");
  expect_refused("{% set s = 'x' * 60000000 %}{{ [s, s] }}", "printing a value would exceed");
  expect_refused("{% set s = 'x' * 60000000 %}{{ [s, s]|tojson }}", "tojson would exceed");
  expect_refused("{% set s = 'x' * 1000 %}{{ s.replace('x', s * 1000) }}", "str.replace would exceed");
  expect_refused("{{ 'a'|center(10**12) }}", "center would exceed");
  expect_refused("{{ 'a\nb'|indent(10**12) }}", "indent would exceed");
  expect_refused("{{ '%999999999999s' % 1 }}", "width would exceed");
  expect_refused("{{ [1]|batch(10**12, 0)|list }}", "batch would exceed");
  expect_refused("{{ ('x' * 60000000)|list|length }}", "would exceed the limit of 1048576 items");
}

TEST(ChatTemplateLimits, RepeatingOneExpensiveStepIsCharged) {
  // Each iteration walks a million items or 60 MB: charged by size, the loop ends within the step limit.
  expect_refused("{% set l = [0] * 1000000 %}{% for i in range(100000) %}{{ l|sum }}{% endfor %}",
                 "render exceeded 10000000 steps");
  expect_refused("{% set s = 'x' * 60000000 %}{% for i in range(100000) %}{% if 'y' in s %}{% endif %}{% endfor %}",
                 "render exceeded 10000000 steps");
  expect_refused("{% set s = 'x' * 60000000 %}{% for i in range(100000) %}{{ s.count('y') }}{% endfor %}",
                 "render exceeded 10000000 steps");
  expect_refused("{% set a = [[0] * 1000] * 1000 %}{% for i in range(100000) %}{{ a == a }}{% endfor %}",
                 "render exceeded 10000000 steps");
}

TEST(ChatTemplateLimits, RecursionAndRangesAreBounded) {
  expect_refused("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
                 "maximum recursion depth exceeded in macro 'm'");
  ChatTemplateInput input;
  input.limits.max_call_depth = 5;
  expect_refused("{% macro m(n) %}{{ n }}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "the limit is 5 nested calls", input);
  // Wide recursion: each level calls twice, so the depth stays small while the work doubles.
  expect_refused("{% macro m(n) %}{% if n < 40 %}{{ m(n + 1) }}{{ m(n + 1) }}{% endif %}{% endmacro %}{{ m(0) }}",
                 "render exceeded 10000000 steps");
  expect_refused(
      "{% macro m() %}{{ caller() }}{% endmacro %}{% macro r(n) %}{% call m() %}{{ r(n + 1) }}{% endcall %}"
      "{% endmacro %}{{ r(0) }}",
      "maximum recursion depth exceeded");
  expect_refused("{{ range(10**9)|length }}", "Range too big");
  expect_refused("{{ 2 ** 10**18 }}{% for i in range(10**6) %}{% endfor %}", "Range too big");
}

TEST(ChatTemplateLimits, RealTemplateOverALongConversationRenders) {
  ChatTemplate tmpl = load_chat_template(test::shared_dir() / "tokenizers" / "qwen3");
  ChatTemplateInput input;
  for (int i = 0; i < 2000; ++i) {
    input.messages.push_back(
        {{"role", "user"}, {"content", "Question " + std::to_string(i) + ": " + std::string(200, 'q')}});
    input.messages.push_back(
        {{"role", "assistant"}, {"content", "<think>\nreasoning\n</think>\n\nAnswer " + std::to_string(i)}});
  }
  input.messages.push_back({{"role", "user"}, {"content", "last"}});
  // A tenth of the default step limit is enough: real templates are far from it.
  input.limits.max_steps = 1'000'000;
  std::string out = tmpl.render(input);
  EXPECT_GT(out.size(), size_t{2000} * 200);
  EXPECT_NE(out.find("Question 1999: "), std::string::npos);
  EXPECT_NE(out.find("<|im_start|>assistant\n"), std::string::npos);
}
