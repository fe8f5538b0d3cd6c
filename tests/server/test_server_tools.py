"""Tools in chat requests and the reply parsers of `turbine serve` (--tool-call-parser, --reasoning-parser).
The tiny models cannot call tools, so these tests prove the plumbing: tools, tool calls and tool results
reach the template (a small template that prints them; the rendered prompt is seen through
return_token_ids), a tool_choice that demands a call ends the prompt with the call block's opening, bad
tools are a 400 naming the field, and a plain reply passes the parsers unchanged, streamed or not. The
parsers themselves are tested on recorded model text in tests/unit/reply_parser_test.cpp; the guided calls
a forced tool_choice gets, in test_server_forced_tools.py."""
import os
import sys

import pytest

from server_harness import Server

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from jinja_reference import render_reference  # noqa: E402  python3-jinja2 configured as transformers does

# Prints the messages with their tool calls and tool results, then the declared tools; `think` opens a
# reasoning block at the end of the prompt as Qwen3's templates do with enable_thinking.
TEMPLATE = """{% for m in messages %}{{ m.role }}: {{ m.content }}
{%- for c in m.tool_calls or [] %} call {{ c.id }} {{ c.function.name }}({{ c.function.arguments | tojson }})
{%- endfor %}{% if m.tool_call_id is defined %} [{{ m.tool_call_id }}]{% endif %}{{ '\\n' }}
{%- endfor %}{% if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}{{ '\\n' }}
{%- endif %}assistant:{% if think %}<think>{{ '\\n' }}{% endif %}"""

TOOLS = [
    {"type": "function", "function": {"name": "lookup", "description": "Find a verse — 経",
                                      "parameters": {"type": "object", "properties": {"q": {"type": "string"}},
                                                     "required": ["q"]}}},
    {"type": "function", "function": {"name": "count_words"}},
]
USER = {"role": "user", "content": "Who made the light?"}
GREEDY = {"temperature": 0, "max_tokens": 12}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    template = tmp_path_factory.mktemp("template") / "tools.jinja"
    template.write_text(TEMPLATE, encoding="utf-8")
    s = Server("--chat-template", template, "--tool-call-parser", "qwen", "--reasoning-parser", "qwen3")
    yield s
    assert s.stop() == 0


def chat(server, **body):
    status, _, answer = server.post("/v1/chat/completions", {"messages": [USER], **body})
    assert status == 200, answer
    return answer


def rendered_ids(server, text):
    status, _, answer = server.post("/v1/encode", {"input": text, "add_bos": False})
    assert status == 200, answer
    return answer["input_ids"]


def prompt_ids(server, **body):
    answer = chat(server, max_tokens=1, return_token_ids=True, **body)
    return answer["choices"][0]["prompt_token_ids"]


def expected_ids(server, messages, tools=None, variables=None):
    text = render_reference(TEMPLATE, messages, tools=tools, variables=variables)
    assert isinstance(text, str), text
    return rendered_ids(server, text)


def test_tools_reach_the_template(server):
    with_tools = expected_ids(server, [USER], TOOLS)
    assert with_tools == rendered_ids(server, "user: Who made the light?\ntools: lookup count_words\nassistant:")
    assert prompt_ids(server, tools=TOOLS) == with_tools
    assert prompt_ids(server, tools=TOOLS, tool_choice="auto") == with_tools
    # "required" (with the server's qwen parser): the prompt ends with the call block's opening.
    assert prompt_ids(server, tools=TOOLS, tool_choice="required") == \
        rendered_ids(server, "user: Who made the light?\ntools: lookup count_words\nassistant:<tool_call>\n")
    # A named function: that tool alone goes to the template, and the same opening.
    assert prompt_ids(server, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "count_words"}}) \
        == rendered_ids(server, "user: Who made the light?\ntools: count_words\nassistant:<tool_call>\n")
    # "none" keeps the tools from the template.
    without = expected_ids(server, [USER])
    assert prompt_ids(server, tools=TOOLS, tool_choice="none") == without
    assert prompt_ids(server) == without


def test_tool_calls_and_tool_results_reach_the_template(server):
    def assistant(*calls, content=None):
        message = {"role": "assistant", "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]}
        if content is not None:
            message["content"] = content
        return message

    messages = [
        USER,
        assistant(("call_1", "lookup", "{\"q\": \"light\"}"), ("call_2", "count_words", {"n": 1}), content=None),
        {"role": "tool", "tool_call_id": "call_1", "content": "Genesis 1:3"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12"}]},
        assistant(("call_3", "lookup", "not json")),
    ]
    status, _, answer = server.post("/v1/chat/completions", {
        "messages": messages, "tools": TOOLS, "max_tokens": 1, "return_token_ids": True})
    assert status == 200, answer
    # What the template is given: arguments sent as a JSON string holding an object become the object
    # (Qwen's templates print `arguments | tojson`), other strings stay; null content is ""; parts are joined.
    given = [
        USER,
        assistant(("call_1", "lookup", {"q": "light"}), ("call_2", "count_words", {"n": 1}), content=""),
        {"role": "tool", "content": "Genesis 1:3", "tool_call_id": "call_1"},
        {"role": "tool", "content": "12", "tool_call_id": "call_2"},
        assistant(("call_3", "lookup", "not json"), content=""),
    ]
    text = render_reference(TEMPLATE, given, tools=TOOLS)
    assert 'call call_1 lookup({"q": "light"}) call call_2 count_words({"n": 1})' in text
    assert "tool: Genesis 1:3 [call_1]" in text and 'lookup("not json")' in text
    assert answer["choices"][0]["prompt_token_ids"] == rendered_ids(server, text)


BAD_TOOLS = [
    # (name, extra request fields, the param the error names)
    ("tools not a list", {"tools": {"type": "function"}}, "tools"),
    ("tool not an object", {"tools": ["lookup"]}, "tools[0]"),
    ("tool without type", {"tools": [{"function": {"name": "f"}}]}, "tools[0].type"),
    ("tool of another type", {"tools": [TOOLS[0], {"type": "retrieval", "function": {"name": "f"}}]}, "tools[1].type"),
    ("tool without function", {"tools": [{"type": "function"}]}, "tools[0].function"),
    ("tool name not a string", {"tools": [{"type": "function", "function": {"name": 3}}]}, "tools[0].function.name"),
    ("tool name empty", {"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
    ("tool parameters not an object", {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
     "tools[0].function.parameters"),
    ("tool description not a string",
     {"tools": [{"type": "function", "function": {"name": "f", "description": 1}}]}, "tools[0].function.description"),
    ("tool_choice unknown word", {"tools": TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
    ("tool_choice wrong type", {"tools": TOOLS, "tool_choice": 1}, "tool_choice"),
    ("tool_choice undeclared tool", {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "x"}}},
     "tool_choice"),
    ("tool_choice without function", {"tools": TOOLS, "tool_choice": {"type": "function"}}, "tool_choice"),
    ("tool_choice required without tools", {"tool_choice": "required"}, "tool_choice"),
    ("tool call without function", {"messages": [USER, {"role": "assistant", "tool_calls": [{"id": "c"}]}]},
     "messages[1].tool_calls[0].function"),
    ("tool call without name", {"messages": [USER, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"arguments": "{}"}}]}]}, "messages[1].tool_calls[0].function.name"),
    ("tool call arguments a number", {"messages": [USER, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": 5}}]}]},
     "messages[1].tool_calls[0].function.arguments"),
    ("tool_calls not a list", {"messages": [USER, {"role": "assistant", "tool_calls": {}}]}, "messages[1].tool_calls"),
    ("tool_calls on a user message", {"messages": [{**USER, "tool_calls": []}]}, "messages[0].tool_calls"),
    ("tool_call_id not a string", {"messages": [USER, {"role": "tool", "tool_call_id": 5, "content": "x"}]},
     "messages[1].tool_call_id"),
    ("tool message without content", {"messages": [USER, {"role": "tool", "tool_call_id": "c"}]},
     "messages[1].content"),
]


@pytest.mark.parametrize("name,fields,param", BAD_TOOLS, ids=[b[0] for b in BAD_TOOLS])
def test_bad_tools_are_400_naming_the_field(server, name, fields, param):
    status, _, answer = server.post("/v1/chat/completions", {"messages": [USER], **fields})
    assert status == 400, answer
    assert answer["error"]["param"] == param, answer
    assert server.request("GET", "/health")[0] == 200


def streamed(server, **body):
    """(content, reasoning, tool_calls, finish_reason) gathered from a streamed chat."""
    events = server.stream("/v1/chat/completions", {"messages": [USER], "stream": True, **body})
    assert events[-1] == "[DONE]"
    content, reasoning, calls, reasons = "", "", [], []
    for event in events[:-1]:
        for choice in event["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            calls += delta.get("tool_calls") or []
            if choice["finish_reason"]:
                reasons.append(choice["finish_reason"])
    assert len(reasons) == 1
    return content, reasoning, calls, reasons[0]


def test_plain_reply_passes_the_parsers_unchanged(server):
    # Without tools the reply is not parsed for calls; with them the model's plain text stays content.
    plain = chat(server, **GREEDY)["choices"][0]
    parsed = chat(server, tools=TOOLS, **GREEDY)["choices"][0]
    assert plain["message"]["content"] and isinstance(parsed["message"]["content"], str)
    assert "tool_calls" not in parsed["message"] and parsed["finish_reason"] == "length"
    assert plain["message"]["reasoning_content"] is None  # the reasoning parser runs: the field is there
    content, reasoning, calls, reason = streamed(server, tools=TOOLS, **GREEDY)
    assert (content, reasoning, calls, reason) == (parsed["message"]["content"], "", [], "length")


def test_reasoning_opened_by_the_prompt(server):
    # The prompt ends inside <think>: the model's text (no </think> within 12 tokens) is all reasoning.
    whole = chat(server, chat_template_kwargs={"think": True}, **GREEDY)["choices"][0]
    message = whole["message"]
    assert message["content"] is None and message["reasoning_content"], message
    assert whole["finish_reason"] == "length"
    content, reasoning, calls, reason = streamed(server, chat_template_kwargs={"think": True}, **GREEDY)
    assert (content, reasoning, calls, reason) == ("", message["reasoning_content"], [], "length")


NAMED = {"type": "function", "function": {"name": "lookup"}}
OPENING = "<tool_call>\n"


def test_a_forced_call_cut_by_max_tokens_is_content_with_its_opening(server):
    # The call is guided, but 12 tokens do not finish it (kjv-llama does not close lookup's string
    # argument soon): the reply is content that starts with the opening, streamed or not, and no call.
    whole = chat(server, tools=TOOLS, tool_choice=NAMED, **GREEDY)["choices"][0]
    content = whole["message"]["content"]
    assert content.startswith(OPENING) and content[len(OPENING):].lstrip().startswith("{"), content
    assert "tool_calls" not in whole["message"] and whole["finish_reason"] == "length"
    assert streamed(server, tools=TOOLS, tool_choice=NAMED, **GREEDY) == (content, "", [], "length")


def test_a_prompt_that_opened_reasoning_gets_no_forced_call(server):
    # The call would land inside the reasoning block: the prompt is the template's alone.
    kwargs = {"think": True}
    plain = expected_ids(server, [USER], TOOLS, variables=kwargs)
    assert prompt_ids(server, tools=TOOLS, tool_choice="required", chat_template_kwargs=kwargs) == plain
    assert prompt_ids(server, tools=TOOLS, tool_choice=NAMED, chat_template_kwargs=kwargs) == \
        expected_ids(server, [USER], TOOLS[:1], variables=kwargs)


def test_serve_rejects_an_unknown_parser_name(tmp_path):
    with pytest.raises(RuntimeError, match="--tool-call-parser"):
        Server("--tool-call-parser", "hermes2")
