"""Differential test: `turbine template` against Debian's python3-jinja2 configured as transformers
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
raise_exception, strftime_now, its own tojson). Every template x message list must render
byte-identically, or fail in both (raise_exception with the same message)."""
import json
import os
import subprocess
import tempfile

import jinja2
import pytest
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

TURBINE = os.environ.get("TURBINE_BIN", "build/turbine")
SHARED = os.environ.get("TURBINE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


class GenerationTag(Extension):
    """transformers' AssistantTracker tag, minus the tracking: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def reference_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


ENV = reference_env()

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Météo d'une ville — 天气",
                                      "parameters": {"type": "object", "properties": {
                                          "city": {"type": "string"}, "days": {"type": "integer", "default": 3},
                                          "unit": {"enum": ["c", "f"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "noop", "description": "", "parameters": {}}},
]

MESSAGES = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "  Be brief.\n"}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3? 'quoted' \"double\""}],
    [{"role": "user", "content": "Unicode: café 中文 🙂\ttab\\back"},
     {"role": "assistant", "content": "<think>\nplan\n</think>\n\nOK", "reasoning_content": None},
     {"role": "user", "content": "x"}],
    [{"role": "system", "content": "tools ok"}, {"role": "user", "content": "Weather in Oslo?"},
     {"role": "assistant", "content": "", "tool_calls": [
         {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}},
         {"type": "function", "function": {"name": "noop", "arguments": "{\"raw\": true}"}}]},
     {"role": "tool", "content": "{\"temp\": -3.5}"}, {"role": "tool", "content": "[1, 2]"}],
    [],
]

# Small templates, each exercising one feature (whitespace control, loops, filters, methods, ...).
TEMPLATES = [
    # whitespace control and trim/lstrip semantics
    "{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n",
    "{%- for m in messages -%}\n  [{{- m.role -}}]  \n{%- endfor -%}\n\n",
    "  {% if true %}\n    yes\n  {% endif %}\n  after",
    "a  {%+ if true %}b{% endif +%}\nc\n{#- comment -#}\n  d {# keep #}\ne",
    "{{ 'x' }}  \n  {{ 'y' }}\n{% if 1 %}  z  {% endif %}\n",
    "line1\n    {%- if true %}\n\tindented\n    {% endif -%}\n   end\n",
    "{% raw %}{{ not parsed }} {% if %}{% endraw %}\n{%- raw -%}  x  {%- endraw %}",
    "{# a comment\nover lines #}\n{{ 1 }}\r\n{{ 2 }}\r\n",
    "\t{% set x = 1 %}\n\t{{ x }}\n{{ x }}{% if x %}\n{% endif %}\n\n",
    # loops
    "{% for m in messages %}{{ loop.index }}/{{ loop.length }} {{ loop.index0 }} {{ loop.revindex }} "
    "{{ loop.revindex0 }} {{ loop.first }} {{ loop.last }};{% endfor %}",
    "{% for m in messages %}{% if loop.previtem is defined %}{{ loop.previtem.role }}{% endif %}>"
    "{% if loop.nextitem is defined %}{{ loop.nextitem.role }}{% endif %}|{% endfor %}",
    "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }} {% else %}none{% endfor %}",
    "{% for m in messages %}{% if m.role == 'assistant' %}{% break %}{% endif %}{{ m.role }} {% endfor %}",
    "{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.role }} {% endfor %}",
    "{% for k, v in {'a': 1, 'b': [2, 3], 'c': none}.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in {'z': 1, 'a': 2} %}{{ k }}{% endfor %}{% for c in 'héllo' %}[{{ c }}]{% endfor %}",
    "{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }} {% endfor %}{% for x in [] %}{% else %}empty{% endfor %}",
    "{% for i in range(3) %}{% for j in range(i) %}{{ i }}{{ j }} {% endfor %}{{ loop.index }}|{% endfor %}",
    "{% for i in range(10, 0, -3) %}{{ i }},{% endfor %}{{ range(5)|list }}{{ loop }}",
    "{% for m in messages %}{{ loop.cycle('odd', 'even') }} {% endfor %}",
    # conditionals and scoping
    "{% if messages|length > 2 %}many{% elif messages %}some{% else %}none{% endif %}",
    "{% set c = 5 %}{% for i in [1, 2] %}{{ c }}{% set c = c + i %}{{ c }}{% endfor %}{{ c }}"
    "{% if true %}{% set c = 9 %}{% endif %}{{ c }}",
    "{% set ns = namespace(n=0, last=none, items=[]) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
    "{% set ns.last = m.role %}{% set ns.items = ns.items + [m.role] %}{% endfor %}{{ ns.n }} {{ ns.last }} "
    "{{ ns.items }}",
    "{% set a, b = 1, 'two' %}{{ a }}{{ b }}{% set t = (1,) %}{{ t }}{% set u = 1, 2 %}{{ u }}",
    "{% set block %}\n  inner {{ messages|length }}\n{% endset %}[{{ block }}]{% set up | upper %}abc{% endset %}{{ up }}",
    # macros
    "{% macro fmt(m, prefix='> ', suffix=none) %}{{ prefix }}{{ m.role }}{{ suffix or '' }}{% endmacro %}"
    "{% for m in messages %}{{ fmt(m) }}{{ fmt(m, '* ') }}{{ fmt(m, suffix='!') }}\n{% endfor %}",
    "{% set g = 1 %}{% macro show() %}{{ g }}{% endmacro %}{% set g = 2 %}{{ show() }}"
    "{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}",
    # expressions and Python value printing
    "{{ 1 + 2 * 3 - 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }}"
    " {{ 10 / 4 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 0.1 + 0.2 }} {{ 3.0 }} {{ -0.0 }} {{ 1 / 3 }} {{ 2.5e300 * 10 }}",
    "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1, 2] + [3] }} {{ true + 1 }} {{ -(3) }} {{ +4 }}",
    "{{ [1, 'x', none, true, 1.0, [2], {'k': 'v'}] }} {{ {'a': \"it's\", 'b': 'say \"hi\"'} }} {{ (1, 'a') }}",
    "{{ none }} {{ true }} {{ false }} {{ True }} {{ None }} {{ undefined_thing }}|{{ '' }}|{{ [] }}{{ {} }}{{ () }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} "
    "{{ 'b' >= 'b' }}",
    "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}",
    "{{ 'yes' if messages else 'no' }} {{ 'x' if false }}| {{ (1 if true else 2) + 1 }} "
    "{{ messages and messages[0].role or 'none' }} {{ not messages }} {{ 0 or '' or 'last' }}",
    # subscripts and slicing
    "{{ messages[0].role if messages }} {{ messages[-1]['content'] if messages }} {{ messages[100] }}|"
    "{{ 'hello'[1] }}{{ 'hello'[-1] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ 'hello'[::2] }} "
    "{{ [1, 2, 3, 4][1:] }} {{ [1, 2, 3, 4][:-1] }} {{ [1, 2, 3, 4][::-2] }} {{ 'héllo'[1:4] }} {{ [1, 2][5:] }}",
    "{% for m in messages[::-1] %}{{ m.role }} {% endfor %}{% for m in messages[1:] %}{{ loop.index }}{% endfor %}",
    # tests
    "{% for v in [none, true, false, 0, 1.5, 'str', [1], {'a': 1}, undefined_x] %}{{ v is defined }}"
    "{{ v is undefined }}{{ v is none }}{{ v is boolean }}{{ v is true }}{{ v is false }}{{ v is number }}"
    "{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is mapping }}{{ v is iterable }}{{ v is sequence }}"
    "{{ v is callable }}\n{% endfor %}",
    "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'abc' is lower }} "
    "{{ 'ABC' is upper }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 1 is lt(0) }} {{ 2 is ge 2 }} {{ 'a' is in 'abc' }} "
    "{{ none is sameas none }} {{ x is not defined }} {{ 'upper' is filter }} {{ 'even' is test }} {{ 1 is ne 2 }}",
    # filters
    "{{ '  pad  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ messages|length }}{{ messages|count }}{{ 'héllo'|length }}",
    "{{ x|default('dflt') }} {{ ''|default('dflt') }} {{ ''|default('dflt', true) }} {{ none|d('n', boolean=true) }}"
    " {{ 0|d('z') }}",
    "{{ 'hello wORLD-foo(bar)'|title }} {{ 'hello world'|capitalize }} {{ 'MiXed'|upper }}{{ 'MiXed'|lower }} "
    "{{ 'ÉCOLE café'|lower }}{{ 'straße'|upper }}",
    "{{ ['a', 'b', 1]|join(', ') }} {{ 'abc'|join('-') }} {{ [{'n': 'x'}, {'n': 'y'}]|join('+', attribute='n') }}"
    " {{ [1, 2]|join }}",
    "{{ 'a-b-a'|replace('a', 'X') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '.') }} "
    "{{ 'ab'|list }} {{ {'k': 1, 'j': 2}|list }} {{ [3, 1]|first }}{{ [3, 1]|last }} {{ 'xyz'|first }}"
    "{{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }}",
    "{{ messages|map(attribute='role')|list }} {{ messages|map(attribute='missing', default='?')|join }} "
    "{{ ['1', '22']|map('length')|list }} {{ [1, 2]|map('string')|list }} {{ ['a']|map('upper')|list }}",
    "{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|rejectattr('role', 'eq', 'user')"
    "|map(attribute='role')|list }} {{ [0, 1, 2, none, '']|select|list }} {{ [1, 2, 3, 4]|select('odd')|list }}"
    " {{ [1, 2, 3, 4]|reject('even')|list }} {{ messages|selectattr('tool_calls')|list|length }} "
    "{{ [1, 5, 3]|select('gt', 2)|list }}",
    "{{ '3'|int }} {{ '3.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 4.9|int }} {{ '2.5'|float }} {{ 'no'|float }}"
    " {{ 3|float }} {{ -3|abs }} {{ -2.5|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} "
    "{{ 7|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(1, 'floor') }} {{ ' 12 '|int }} {{ true|int }}",
    "{{ {'b': 2, 'a': 1, 'C': 3}|dictsort }} {{ {'b': 2, 'a': 1}|dictsort(by='value', reverse=true) }} "
    "{{ {'x': 1, 'y': [2]}|items|list }} {{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} "
    "{{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} "
    "{{ [{'n': 2}, {'n': 1}]|sort(attribute='n')|map(attribute='n')|list }}",
    "{{ [1, 2, 1, 3, 2]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ [1, 2, 3]|sum }} {{ [1.5, 2]|sum }} "
    "{{ [4, 9, 2]|max }} {{ [4, 9, 2]|min }} {{ ['b', 'A']|max }} {{ 'one two  three'|wordcount }} {{ 12|string }}"
    "{{ [1]|string }} {{ '<a & \"b\">'|escape }} {{ '<b>'|safe }} {{ '<b>'|e }}",
    "{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent('> ', blank=true) }}|{{ 'x'|indent }}",
    # tojson
    "{{ messages|tojson }}\n{{ tools|tojson }}",
    "{{ {'é': 'ünï 🙂', 'n': [1, 2.5, true, none, 'a\"b\\\\c\n\t'], 'o': {}}|tojson }}",
    "{{ tools|tojson(indent=2) }}\n{{ {'a': [1, {'b': []}]}|tojson(indent=4) }}",
    "{{ {'a': 1, 'b': [1, 2]}|tojson(separators=(',', ':')) }} {{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} "
    "{{ 'x'|tojson }} {{ 1.0|tojson }} {{ 1e20|tojson }} {{ '\u00e9'|tojson(ensure_ascii=true) }}",
    "{% for m in messages %}{% for t in m.tool_calls or [] %}{{ t.function.arguments|tojson }}"
    "{{ t.function.arguments is string }};{% endfor %}{% endfor %}",
    # string methods
    "{% for m in messages %}{{ m.content.strip() }}|{{ m.content.lstrip('Hel') }}|{{ m.content.rstrip('!?') }}|"
    "{{ m.content.startswith('Hel') }}{{ m.content.endswith(('!', '?')) }}|{{ m.content.upper() }}|"
    "{{ m.content.lower() }}|{{ m.content.title() }}|{{ m.content.find('l') }}|{{ m.content.count('l') }}\n{% endfor %}",
    "{{ 'a,b,,c'.split(',') }} {{ ' a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} "
    "{{ 'x<think>y</think>z'.split('</think>')[-1] }} {{ '-'.join(['a', 'b']) }} {{ 'abab'.replace('a', 'c', 1) }}"
    " {{ 'Hi {} {}'.format(1, 'x') }} {{ 'héllo'.find('l') }} {{ 'abc'.capitalize() }} {{ 'l1\nl2'.splitlines() }}",
    "{{ '\n\nx\n'.strip('\n') }}|{{ 'ab12'.isalnum() }}{{ '12'.isdigit() }}{{ 'ab'.isalpha() }}{{ '  '.isspace() }}"
    "{{ 'AB'.isupper() }}{{ 'ab'.islower() }}|{{ 'hello world'.title() }}|{{ \"they're 1st\".title() }}",
    # dict methods and access
    "{% for m in messages %}{{ m.get('role') }} {{ m.get('nope', 'dflt') }} {{ m.get('nope') }} {{ m.keys()|list }} "
    "{{ m['content'] is string }}{{ m.reasoning_content is defined }}{{ m.reasoning_content is none }}\n{% endfor %}",
    "{% set d = {'role': 'r', 'items': 'i'} %}{{ d.role }} {{ d['items'] }} {{ d.values()|list }} "
    "{{ dict(a=1, b=2) }} {{ d|length }}",
    # the undefined and raising behaviour
    "{{ missing }}{{ missing|default('m') }}{% if missing %}x{% endif %}{{ missing is defined }}{% for x in missing %}"
    "{{ x }}{% endfor %}{{ missing|length }}{{ missing|string }}|{{ messages[0].nope if messages }}|",
    "{% if messages|length == 0 %}{{ raise_exception('No messages: ' ~ messages|length) }}{% endif %}"
    "{% for m in messages %}{% if m.role not in ['user', 'assistant', 'system', 'tool'] %}"
    "{{ raise_exception('bad role ' + m.role) }}{% endif %}{{ m.role[0] }}{% endfor %}",
    "{{ missing.attr }}",
    "{{ 'a' + 1 }}",
    "{{ messages[0].content + none }}",
    "{{ 1 / 0 }}",
    "{% for m in messages %}{{ m.content }}{% endfor %}{{ messages.append(1) }}",
    "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ documents }}|"
    "{{ enable_thinking is defined }}",
    "{% generation %}gen {{ 1 }}{% endgeneration %}{% filter upper %}shout {{ 'x' }}{% endfilter %}",
    "{{ ns.x if ns is defined }}{% set ns = namespace() %}{% set ns.x = 'attr' %}{{ ns.x }}"
    "{% set n2 = namespace({'a': 1}, b=2) %}{{ n2.a }}{{ n2.b }}",
    "{{ \"esc\\\\n\\x41\\u00e9\\t|\" }}{{ 'adjacent' \"strings\" }}{{ 1_000 }}{{ 0.5 }}{{ 'it\\'s' }}",
]

BAD_TEMPLATES = [
    "{% if x %}unterminated",
    "{{ 1 + }}",
    "{% for x in %}{% endfor %}",
    "{{ x|no_such_filter }}",
    "{{ x is no_such_test }}",
    "{% unknown_tag %}",
    "{{ 'unclosed }}",
    "{% endif %}",
    "{{ (1 }}",
    "{% break %}",
    "{# open comment",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
]


def render_reference(template, messages, tools=None, add_generation_prompt=True, variables=None,
                     bos="<s>", eos="</s>"):
    """What transformers' apply_chat_template renders; ('error', message) when it raises."""
    kwargs = {}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    kwargs.update(variables or {})
    try:
        compiled = ENV.from_string(template)
        return compiled.render(messages=messages, tools=tools, documents=None,
                               add_generation_prompt=add_generation_prompt, **kwargs)
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:
            return ("raised", e.message)
        return ("error", str(e))
    except Exception as e:  # TypeError, SyntaxError, RecursionError, ...: any failure
        return ("error", str(e))


def render_turbine(template, messages, tools=None, add_generation_prompt=True, variables=None,
                   bos="<s>", eos="</s>"):
    with tempfile.TemporaryDirectory() as tmp:
        config = {"chat_template": template}
        if bos is not None:
            config["bos_token"] = bos
        if eos is not None:
            config["eos_token"] = {"content": eos, "lstrip": False}
        with open(os.path.join(tmp, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False)
        with open(os.path.join(tmp, "messages.json"), "w", encoding="utf-8") as f:
            json.dump(messages, f, ensure_ascii=False)
        cmd = [TURBINE, "template", tmp, "--messages", os.path.join(tmp, "messages.json")]
        if tools is not None:
            with open(os.path.join(tmp, "tools.json"), "w", encoding="utf-8") as f:
                json.dump(tools, f, ensure_ascii=False)
            cmd += ["--tools", os.path.join(tmp, "tools.json")]
        if not add_generation_prompt:
            cmd.append("--no-generation-prompt")
        for name, value in (variables or {}).items():
            cmd += ["--var", f"{name}={json.dumps(value)}"]
        r = subprocess.run(cmd, capture_output=True, timeout=30)
    if r.returncode != 0:
        stderr = r.stderr.decode("utf-8")
        assert stderr.startswith("error: ") and stderr.endswith("\n") and stderr.count("\n") == 1, stderr
        assert r.stdout == b""
        return ("error", stderr[len("error: "):-1])
    return r.stdout.decode("utf-8")


def check_same(template, messages, **kw):
    expected = render_reference(template, messages, **kw)
    got = render_turbine(template, messages, **kw)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple), f"jinja2 failed ({expected}) but turbine rendered {got!r}"
        if expected[0] == "raised":
            assert got[1] == expected[1]
    else:
        assert got == expected, f"\ntemplate: {template!r}\nmessages: {messages!r}"


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_small_template(index):
    for messages in MESSAGES:
        check_same(TEMPLATES[index], messages, tools=TOOLS if len(messages) > 3 else None)


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_small_template_without_special_tokens(index):
    check_same(TEMPLATES[index], MESSAGES[1], add_generation_prompt=False, bos=None, eos=None,
               variables={"enable_thinking": False, "extra": {"k": [1, "v"]}})


REAL = {
    "llama3": os.path.join(SHARED, "tokenizers", "llama3"),
    "qwen3": os.path.join(SHARED, "tokenizers", "qwen3"),
    "kjv-llama": os.path.join(SHARED, "models", "kjv-llama"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_template(name):
    with open(os.path.join(REAL[name], "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    template = config["chat_template"]
    bos, eos = config.get("bos_token"), config.get("eos_token")
    cases = MESSAGES + [
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "user", "content": "<tool_response>r</tool_response>"},
         {"role": "assistant", "content": "<think>\n\nhmm\n</think>\nanswer"}],
    ]
    for messages in cases:
        for tools in (None, TOOLS):
            for add in (True, False):
                for variables in ({}, {"enable_thinking": False}, {"enable_thinking": True}):
                    check_same(template, messages, tools=tools, add_generation_prompt=add, variables=variables,
                               bos=bos, eos=eos)


@pytest.mark.parametrize("index", range(len(BAD_TEMPLATES)))
def test_bad_template_errors_in_both(index):
    template = BAD_TEMPLATES[index]
    assert isinstance(render_reference(template, MESSAGES[0]), tuple)
    got = render_turbine(template, MESSAGES[0])
    assert isinstance(got, tuple), got


def test_syntax_error_names_line_and_column():
    got = render_turbine("line one\n{{ 'ok' }}\n{% for x in %}{% endfor %}", MESSAGES[0])
    assert isinstance(got, tuple)
    assert "line 3, column" in got[1], got


def test_unknown_filter_is_named():
    got = render_turbine("{{ 'x'|frobnicate }}", MESSAGES[0])
    assert isinstance(got, tuple) and "frobnicate" in got[1] and "line 1, column" in got[1], got


def test_recursion_and_deep_nesting_fail_cleanly():
    got = render_turbine("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", MESSAGES[0])
    assert isinstance(got, tuple) and "recursion" in got[1], got
    got = render_turbine("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", MESSAGES[0])
    assert isinstance(got, tuple) and "nesting" in got[1], got
    got = render_turbine("{% if 1 %}" * 3000 + "{% endif %}" * 3000, MESSAGES[0])
    assert isinstance(got, tuple) and "nesting" in got[1], got


def test_raise_exception_message_is_exact():
    got = render_turbine("{{ raise_exception('Conversation roles must alternate') }}", MESSAGES[0])
    assert got == ("error", "Conversation roles must alternate")


def test_malformed_json_files_are_named():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": "{{ messages }}"}, f)
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write("[{\"role\": ")
        good = os.path.join(tmp, "good.json")
        with open(good, "w") as f:
            f.write("[]")
        for args in (["--messages", bad], ["--messages", good, "--tools", bad]):
            r = subprocess.run([TURBINE, "template", tmp] + args, capture_output=True, text=True)
            assert r.returncode != 0 and r.stderr.startswith("error: ") and "bad.json" in r.stderr, r.stderr
        r = subprocess.run([TURBINE, "template", tmp, "--messages", good, "--var", "x=not json"],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "--var" in r.stderr, r.stderr
        os.remove(os.path.join(tmp, "tokenizer_config.json"))
        r = subprocess.run([TURBINE, "template", tmp, "--messages", good], capture_output=True, text=True)
        assert r.returncode != 0 and "chat template" in r.stderr, r.stderr


def random_whitespace_template(rng, depth=0):
    """Text, output tags, comments and if/for blocks with every whitespace-control marker."""
    texts = ["a", " ", "  ", "\n", " \n", "\n  ", "\t", "\n\n", "b \t\n  ", "\r\n"]
    left = ["", "-", "+"]
    right = ["", "-", "+"]
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.4:
            parts.append(rng.choice(texts))
        elif kind < 0.55:
            parts.append("{{%s 'v' %s}}" % (rng.choice(["", "-"]), rng.choice(["", "-"])))
        elif kind < 0.65:
            parts.append("{#%s c %s#}" % (rng.choice(left), rng.choice(right)))
        elif depth < 3:
            head, tail = rng.choice([("if true", "endif"), ("for i in [1, 2]", "endfor"), ("if false", "endif")])
            inner = random_whitespace_template(rng, depth + 1)
            parts.append("{%%%s %s %s%%}%s{%%%s %s %s%%}" % (rng.choice(left), head, rng.choice(right), inner,
                                                             rng.choice(left), tail, rng.choice(right)))
    return "".join(parts)


def test_random_whitespace_control():
    import random
    rng = random.Random(1234)
    templates = [random_whitespace_template(rng) for _ in range(40)]
    for template in templates:
        check_same(template, MESSAGES[0])
