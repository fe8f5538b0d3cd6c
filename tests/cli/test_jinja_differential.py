"""Differential test: `turbine template` against python3-jinja2 configured like transformers, on many
small templates (one feature each) x several message lists, and on random whitespace-control mixes.
Each must render byte-identically, or fail in both (raise_exception with the same message)."""
import concurrent.futures
import random

import pytest

from jinja_reference import MESSAGES, TOOLS, check_same

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
    # call blocks: caller(), caller arguments, nesting, scope, and caller where no call block gives one
    "{% macro box(title) %}[{{ title }}: {{ caller() }}]{% endmacro %}{% for m in messages %}{% call box(m.role) %}"
    "{{ loop.index }} {{ m.content|length }}{% endcall %}\n{% endfor %}",
    "{% macro each(items) %}{% for x in items %}{{ caller(x, loop.index) }}{% endfor %}{% endmacro %}"
    "{% call(m, i) each(messages) %}{{ i }}={{ m.role }};{% endcall %}{% call(a, b='dflt') each([1]) %}{{ a }}{{ b }}"
    "{% endcall %}",
    "{% macro outer() %}<{{ caller() }}>{% endmacro %}{% macro inner(t) %}({{ t }}{{ caller()|upper }}){% endmacro %}"
    "{% call outer() %}{% call inner(messages|length) %}x{% endcall %}|{% call inner('y') %}z{% endcall %}{% endcall %}",
    "{% macro m() %}{{ caller is defined }}|{{ caller is callable }}|{% endmacro %}{{ m() }}{% call m() %}b{% endcall %}"
    "{% macro n() %}[{{ caller }}]{% endmacro %}{{ n() }}",
    "{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% call m(1) %}unused body{% endcall %}",
    "{% macro m() %}{{ caller(1, 2, 3) }}{% endmacro %}{% call(x, y) m() %}{{ x }}{{ y }}{% endcall %}",
    "{% macro m() %}{{ caller(1, 2, k=3) }}{% endmacro %}{% call m() %}{{ varargs }}{{ kwargs }}{% endcall %}"
    "{% call(x, y=7) m() %}{{ x }}{{ y }}{{ kwargs }}{% endcall %}",
    "{% call(x) messages %}{% endcall %}",
    "{% macro m(caller) %}{{ caller() }}{% endmacro %}",
    "{% macro m(caller=none) %}{{ caller() if caller else 'none' }}{% endmacro %}{{ m() }}{% call m() %}b{% endcall %}",
    # *args / **kwargs: varargs and kwargs in macros, spreading in calls, filters and globals
    "{% macro m(a, b='B') %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }} {{ m(1, 2, 3, 4) }} "
    "{{ m(1, x=5, b=2) }} {{ m(*['p', 'q', 'r']) }} {{ m(**{'a': 'k', 'z': 0}) }} {{ m(1, *[2], **{'y': 3}) }}",
    "{% macro m(a) %}{{ varargs|length }}:{% for v in varargs %}{{ v }}{% endfor %}{% endmacro %}{{ m(0, *messages"
    "|map(attribute='role')) }}",
    "{% macro m() %}{{ kwargs|dictsort }}{% endmacro %}{{ m(b=1, a=2, **{'c': 3}) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m() %}x{% endmacro %}{{ m(1) }}",
    "{% macro m(a) %}x{% endmacro %}{{ m(b=1) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}",
    "{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}{{ m(*[1, 2]) }}{{ m(**{'b': 4, 'a': 3}) }}{{ m(b=6, *[5]) }}"
    "{{ m(*'xy') }}{{ m(*none_given, **{'a': 7, 'b': 8}) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(*1) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(**[1]) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(*[1], *[2]) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(**{'a': 1}, a=2) }}",
    "{% macro m(a=0) %}{{ a }}{% endmacro %}{{ m(a=1, **{'a': 2}) }}",
    "{{ [3, 1, 2]|sort(*[true]) }} {{ ['a', 'b']|join(*['-']) }} {{ 'x'|replace(**{'old': 'x', 'new': 'y'}) }} "
    "{{ dict(j=2, **{'k': 1}) }} {{ namespace(**{'n': 1}).n }} {{ 'a{}{}'.format(*[1, 2]) }} "
    "{{ range(*[1, 7, 2])|list }} {{ 4 is divisibleby(*[2]) }}",
    "{% macro m(a) %}{{ a }}{{ varargs }}{% endmacro %}{% set varargs = 'outer' %}{{ m(1, 2) }}",
    "{% macro m() %}{% set varargs = 'mine' %}{{ varargs }}{% endmacro %}{{ m() }}",
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
    "{{ 'x'|trim(chars='x', extra=1) }}",
    "{{ 'x'|upper(1) }}",
    "{{ 'abc'|center(9) }}|{{ 'ab'|center(7) }}|{{ 'abc'|center(2) }}|{{ [1, 2, 3]|batch(2)|list }}"
    "{{ [1, 2, 3]|batch(2, 'x')|list }}",
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
    "{{ '%s-%d %5.2f|%-4s|%04d %r %x %o %e %g %+d %% %c' % ('a', 3, 3.14159, 'ab', 42, 'q', 255, 8, 12345.678, 0.0001, 5, 65) }}"
    " {{ '%(a)s=%(b)d' % {'a': 'k', 'b': 2} }} {{ '%s' % 'one' }} {{ '%s and %s'|format('x', 1) }} {{ '%.1s' % 'xyz' }}",
    "{% for m in messages %}{% set outer = loop %}{% for c in m.role[:2] %}{{ outer.index }}{{ loop.index }}{{ c }} "
    "{% endfor %}{% endfor %}{{ messages|selectattr('role', 'equalto', 'system')|first is defined }}",
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + (m['content'] if m['content'] is string else '') + '<|end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
    "{{ \"esc\\\\n\\x41\\u00e9\\t|\" }}{{ 'adjacent' \"strings\" }}{{ 1_000 }}{{ 0.5 }}{{ 'it\\'s' }}",
]

# Longer templates written in the style of popular models' templates (tools, dates, reasoning).

def run_all(checks):
    """Runs (template, messages, kwargs) checks a few at a time: each one is a process start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(check_same, t, m, **kw) for t, m, kw in checks]:
            future.result()


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_small_template(index):
    template = TEMPLATES[index]
    checks = [(template, m, {"tools": TOOLS if len(m) > 3 else None}) for m in MESSAGES]
    # The same without bos/eos (as for Qwen), no generation prompt, and extra variables.
    checks.append((template, MESSAGES[1], {"add_generation_prompt": False, "bos": None, "eos": None,
                                           "variables": {"enable_thinking": False, "extra": {"k": [1, "v"]}}}))
    run_all(checks)


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
    rng = random.Random(1234)
    run_all([(random_whitespace_template(rng), MESSAGES[0], {}) for _ in range(40)])




def test_mutated_templates_agree_or_fail_in_both():
    """Templates with a random token spliced in: mostly syntax errors, sometimes odd but valid."""
    pieces = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "if", "for", "in", "endif", "set", "=", "[",
              "]", "(", ")", "{", "}", ".", "|", "length", "'a'", "1", "2.5", ",", ":", "not", "and", "is", "else",
              "~", "*", "**", "//", "%", "none", "\\", "'", "é"]
    rng = random.Random(5)
    checks = []
    for _ in range(60):
        t = rng.choice(TEMPLATES)
        k = rng.randrange(len(t))
        checks.append((t[:k] + rng.choice(pieces) + t[k + rng.randrange(3):], MESSAGES[1], {}))
    run_all(checks)
