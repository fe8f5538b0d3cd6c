"""`turbine template` on hostile templates: each render that would loop, recurse or allocate without
bound ends within seconds with one `error:` line naming the limit; a real template over a long
conversation still renders."""
import json
import os
import subprocess
import tempfile
import time

import pytest

from jinja_reference import SHARED, TURBINE

# (template, what the error says); each would run for hours or take gigabytes if unbounded.
HOSTILE = [
    ("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
     "render exceeded 10000000 steps"),
    ("{{ 'x' * 10**9 }}", "string repetition would exceed the limit of 67108864 bytes for one value"),
    ("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "maximum recursion depth exceeded in macro 'm'"),
    ("{% macro m(n) %}{% if n < 40 %}{{ m(n + 1) }}{{ m(n + 1) }}{% endif %}{% endmacro %}{{ m(0) }}",
     "render exceeded 10000000 steps"),
    ("{{ range(10**9)|length }}", "Range too big"),
    ("{% set s = 'x' * 60000000 %}{{ ([s] * 1000)|join(',') }}", "join would exceed the limit of 67108864 bytes"),
    ("{{ ([0] * 10**9)|length }}", "list repetition would exceed the limit of 1048576 items"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "concatenation would exceed the limit of 67108864 bytes"),
    ("{% set line = 'y' * 65536 %}{% for i in range(2000) %}{{ line }}{% endfor %}",
     "rendered output exceeds 67108864 bytes"),
]


def run_template(template, messages, timeout=120):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump({"chat_template": template}, f)
        with open(os.path.join(tmp, "messages.json"), "w", encoding="utf-8") as f:
            json.dump(messages, f)
        start = time.monotonic()
        r = subprocess.run([TURBINE, "template", tmp, "--messages", os.path.join(tmp, "messages.json")],
                           capture_output=True, timeout=timeout)
        return r, time.monotonic() - start


@pytest.mark.parametrize("template,message", HOSTILE)
def test_hostile_template_ends_with_its_limit(template, message):
    r, seconds = run_template(template, [{"role": "user", "content": "hi"}])
    stderr = r.stderr.decode("utf-8", errors="replace")
    assert r.returncode != 0 and r.stdout == b""
    assert stderr.startswith("error: chat template line ") and stderr.count("\n") == 1, stderr
    assert message in stderr, stderr
    assert seconds < 60, f"took {seconds:.1f} s"


def test_real_template_over_a_long_conversation_renders():
    with open(os.path.join(SHARED, "tokenizers", "qwen3", "tokenizer_config.json"), encoding="utf-8") as f:
        template = json.load(f)["chat_template"]
    messages = []
    for i in range(3000):
        messages.append({"role": "user", "content": f"Question {i}: " + "q" * 300})
        messages.append({"role": "assistant", "content": f"<think>\nstep {i}\n</think>\n\nAnswer {i}"})
    messages.append({"role": "user", "content": "last"})
    r, _ = run_template(template, messages)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8")
    assert "Question 2999: " in out and out.endswith("<|im_start|>assistant\n")
    assert len(out) > 3000 * 300
