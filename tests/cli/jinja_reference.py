"""The reference side of the chat-template tests: python3-jinja2 configured exactly as transformers
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, the
{% generation %} tag, raise_exception, strftime_now, its own tojson), and `turbine template` run on
a temporary tokenizer folder holding the same template."""
import datetime
import functools
import json
import os
import subprocess
import tempfile

import jinja2
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
    def strftime_now(format):
        return datetime.datetime.now().strftime(format)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = reference_env()


@functools.lru_cache(maxsize=None)
def compile_reference(template):
    return ENV.from_string(template)

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
        compiled = compile_reference(template)
        return compiled.render(messages=messages, tools=tools, documents=None,
                               add_generation_prompt=add_generation_prompt, **kwargs)
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:
            return ("raised", e.message)
        return ("error", str(e))
    except Exception as e:  # TypeError, SyntaxError, RecursionError, ...: any failure
        return ("error", str(e))


def render_turbine(template, messages, tools=None, add_generation_prompt=True, variables=None,
                   bos="<s>", eos="</s>", config_extra=None):
    with tempfile.TemporaryDirectory() as tmp:
        config = {"chat_template": template, **(config_extra or {})}
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
        stderr = r.stderr.decode("utf-8", errors="replace")
        assert stderr.startswith("error: ") and stderr.endswith("\n") and stderr.count("\n") == 1, stderr
        assert r.stdout == b""
        return ("error", stderr[len("error: "):-1])
    return r.stdout.decode("utf-8", errors="replace")


def check_same(template, messages, **kw):
    expected = render_reference(template, messages, **kw)
    got = render_turbine(template, messages, **kw)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple), f"jinja2 failed ({expected}) but turbine rendered {got!r}"
        if expected[0] == "raised":
            assert got[1] == expected[1]
    else:
        assert got == expected, f"\ntemplate: {template!r}\nmessages: {messages!r}"


