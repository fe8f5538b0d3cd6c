"""`turbine template` on real and realistic chat templates (against python3-jinja2 configured like
transformers), bad templates, and bad input files."""
import json
import os
import subprocess
import tempfile

import pytest

from jinja_reference import MESSAGES, SHARED, TOOLS, TURBINE, check_same, render_reference, render_turbine

REALISTIC_TEMPLATES = [
    # Llama 3.1 style: system date, tools as JSON in the user turn, tool calls as JSON.
    """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = strftime_now("%d %b %Y") %}
{%- endif %}
{%- if messages and messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{{- "Today Date: " + date_string[:2]|length|string + "\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- if tools is not none and messages|length > 0 %}
    {%- set first_user_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- for tool_call in message.tool_calls %}
            {%- set tool_call = tool_call.function %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endfor %}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable and message.content is not string %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
""",
    # Mistral style: alternation check, [INST] blocks, tool calls with ids.
    """{%- if messages and messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" }}{%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {{- ', "id": "' + "%09d" % loop.index + '"}' }}
            {%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" + eos_token }}{%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool" %}
        {{- '[TOOL_RESULTS] {"content": ' + message.content|string + "}[/TOOL_RESULTS]" }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
""",
    # DeepSeek-R1 style: namespace flags, splitting reasoning off assistant turns.
    """{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}
{% set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}
        {%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}
    {%- endif %}
{%- endfor %}
{{ bos_token }}{{ ns.system_prompt }}
{%- for message in messages %}
    {%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}
    {%- if message['role'] == 'assistant' and 'tool_calls' in message %}
        {%- set ns.is_tool = false -%}
        {%- for tool in message['tool_calls'] %}
            {%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments']|string + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}
            {%- else %}{{'\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n```json\n' + tool['function']['arguments']|string + '\n```<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
    {%- if message['role'] == 'assistant' and 'tool_calls' not in message %}
        {%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}
        {%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}
        {%- endif %}
    {%- endif %}
    {%- if message['role'] == 'tool' %}
        {%- set ns.is_tool = true -%}
        {%- if ns.is_output_first is not defined %}{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}
        {%- else %}{{'\n<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}
    {%- endif %}
{%- endfor -%}
{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}
{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\n'}}{% endif %}""",
    # Gemma style: role renaming, strict alternation, a macro and trim.
    """{{ bos_token }}
{%- macro turn(role, text) -%}
<start_of_turn>{{ role }}
{{ text | trim }}<end_of_turn>
{% endmacro -%}
{%- if messages and messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}
    {{ turn(role, (first_user_prefix if loop.first else "") + message['content']) }}
{%- endfor -%}
{%- if add_generation_prompt -%}
<start_of_turn>model
{% endif -%}
""",
    # MiniCPM3 style: each turn is a section macro whose body comes from a call block (caller with an argument),
    # tools rendered as Python signatures by a macro.
    """{%- macro section(name) -%}
<|im_start|>{{ name }}
{{ caller(name|upper) }}<|im_end|>
{% endmacro -%}
{%- macro describe_tool(tool) -%}
{%- set f = tool.function if tool.function is defined else tool -%}
def {{ f.name }}({% for pname, p in (f.parameters.properties or {}).items() %}{{ pname }}: {{ p.type|default('Any') }}
{%- if not loop.last %}, {% endif %}{% endfor %}):
    \"\"\"{{ f.description }}\"\"\"
{% endmacro -%}
{%- if tools -%}
    {%- call(tag) section('system') -%}
        {%- if messages and messages[0].role == 'system' %}{{ messages[0].content }}

{% endif -%}
# Functions
{% for tool in tools %}{{ describe_tool(tool) }}{% endfor -%}
    {%- endcall -%}
{%- elif messages and messages[0].role == 'system' -%}
    {%- call(tag) section('system') %}{{ messages[0].content }}{% endcall -%}
{%- endif -%}
{%- for message in messages if message.role != 'system' -%}
    {%- call(tag) section(message.role) -%}
        {%- if message.role == 'tool' %}<tool_response tag="{{ tag }}">{{ message.content }}</tool_response>
        {%- else %}{{ message.content }}{% endif -%}
        {%- for c in message.tool_calls or [] %}
<tool_call>{{ c.function.name }}({{ c.function.arguments|tojson if c.function.arguments is mapping else c.function.arguments }})</tool_call>
        {%- endfor -%}
    {%- endcall -%}
{%- endfor -%}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif -%}
""",
    # Jamba style: one turn macro taking extra positional lines (varargs) and attributes (kwargs), called with
    # spread lists and dicts.
    """{%- macro turn(role, content) -%}
<|{{ role }}|>{% for k, v in kwargs|dictsort %} {{ k }}="{{ v }}"{% endfor +%}
{{ content }}{% if varargs %}
{{ varargs|join('\n') }}{% endif %}
</|{{ role }}|>
{% endmacro -%}
{%- macro call_line(c) -%}
{{ c.function.name }}({{ c.function.arguments|tojson if c.function.arguments is mapping else c.function.arguments }})
{%- endmacro -%}
{{- bos_token -}}
{%- if tools -%}
    {{- turn('tools', tools|length ~ ' tools', *tools|map(attribute='function')|map(attribute='name')|list, kind='functions') -}}
{%- endif -%}
{%- for message in messages -%}
    {%- set ns = namespace(lines=[]) -%}
    {%- for c in message.tool_calls or [] -%}
        {%- set ns.lines = ns.lines + [call_line(c)] -%}
    {%- endfor -%}
    {%- set attrs = {'n': loop.index} if loop.last else {} -%}
    {{- turn(message.role, message.content, *ns.lines, first=loop.first, **attrs) -}}
{%- endfor -%}
{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif -%}
""",
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
    "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{{ caller() }}{% endcall %}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
    "{% call m() %}{% endcall %}",
    "{{ dict(**{'a': 1}, b=2) }}",
    "{% call range(3) %}x{% endcall %}",
    "{{ range(stop=3) }}",
]



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
    variants = [(None, True, {}), (TOOLS, True, {"enable_thinking": False}), (None, False, {"enable_thinking": True}),
                (TOOLS, False, {})]
    for messages in cases:
        for tools, add, variables in variants:
            check_same(template, messages, tools=tools, add_generation_prompt=add, variables=variables, bos=bos, eos=eos)


@pytest.mark.parametrize("index", range(len(REALISTIC_TEMPLATES)))
def test_realistic_template(index):
    for messages in MESSAGES + [[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]]:
        for tools, add in ((None, True), (TOOLS, False)):
            check_same(REALISTIC_TEMPLATES[index], messages, tools=tools, add_generation_prompt=add)


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



def test_other_special_tokens_reach_the_template():
    template = "{{ pad_token }}|{{ unk_token }}|{{ additional_special_tokens }}|{{ sep_token is defined }}"
    config = {"pad_token": "<pad>", "unk_token": {"content": "<unk>", "lstrip": False}, "sep_token": None,
              "additional_special_tokens": ["<a>", {"content": "<b>"}]}
    expected = render_reference(template, MESSAGES[0], variables={
        "pad_token": "<pad>", "unk_token": "<unk>", "additional_special_tokens": ["<a>", "<b>"]})
    assert render_turbine(template, MESSAGES[0], config_extra=config) == expected

