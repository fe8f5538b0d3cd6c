"""Forced tool calls through turbine serve (tool_choice "required" or a named function, with
--tool-call-parser qwen and llama3): the reply is guided to be one call object, so it parses every time
and its arguments follow the tool's parameters schema, whole and streamed, n=2, at temperature 1.0 over
several seeds (kjv-llama knows nothing of tools: only the guidance makes these calls). Tools whose schema
cannot guide the arguments still get a guided call; a JSON response_format beside a forced call is a 400;
a prompt that opened a reasoning block is not guided. The grammar itself is unit-tested in
tests/unit/tool_call_grammar_test.cpp."""
import json
import re

import pytest

from server_harness import Server

# Prints the declared tools; `think` opens a reasoning block at the end of the prompt.
TEMPLATE = """{% for m in messages %}{{ m.role }}: {{ m.content }}{{ '\\n' }}{% endfor %}
{%- if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}{{ '\\n' }}{% endif -%}
assistant:{% if think %}<think>{{ '\\n' }}{% endif %}"""

USER = {"role": "user", "content": "Who made the light?"}
BOOKS = ["Genesis", "Exodus", "Psalms", "John"]
# Schemas a tiny model finishes: enums, booleans, nested objects with fixed keys, bounded arrays (it
# would write a free string or an integer on and on, up to max_tokens).
LOOKUP = {
    "type": "object",
    "properties": {
        "book": {"$ref": "#/$defs/book"},
        "exact": {"type": "boolean"},
        "around": {"type": "object", "properties": {"before": {"enum": [0, 1, 2]}, "after": {"enum": [0, 1, 2]}},
                   "required": ["before"]},
        "kinds": {"type": "array", "items": {"enum": ["law", "poetry"]}, "maxItems": 2},
    },
    "required": ["book", "exact"],
    "$defs": {"book": {"enum": BOOKS}},
}
COUNT = {"type": "object", "properties": {"book": {"enum": BOOKS[:2]}, "unique": {"type": "boolean"}},
         "required": ["book", "unique"]}


def tool(name, parameters=None):
    function = {"name": name, "description": "d"}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


TOOLS = [tool("lookup", LOOKUP), tool("count_words", COUNT)]
SCHEMAS = {"lookup": LOOKUP, "count_words": COUNT}
NAMED = {"type": "function", "function": {"name": "lookup"}}
CHOICES = [NAMED, {"type": "function", "function": {"name": "count_words"}}, "required"]
CHOICE_IDS = ["lookup", "count_words", "required"]
SAMPLED = {"temperature": 1.0, "max_tokens": 256}


@pytest.fixture(scope="module", params=["qwen", "llama3"])
def server(request, tmp_path_factory):
    template = tmp_path_factory.mktemp("template") / "tools.jinja"
    template.write_text(TEMPLATE, encoding="utf-8")
    s = Server("--chat-template", template, "--tool-call-parser", request.param, "--reasoning-parser", "qwen3")
    s.format = request.param
    yield s
    s.wait_no_active_blocks()
    assert s.stop() == 0


def opening(server):
    return "<tool_call>\n" if server.format == "qwen" else ""


def chat(server, **body):
    status, _, answer = server.post("/v1/chat/completions", {"messages": [USER], **body})
    assert status == 200, answer
    return answer


def follows(schema, value, root):
    """The subset of JSON Schema these tests use, checked by hand (properties also in declared order)."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return follows(target, value, root)
    if "enum" in schema:
        return any(type(value) is type(e) and value == e for e in schema["enum"])
    if schema["type"] == "boolean":
        return isinstance(value, bool)
    if schema["type"] == "array":
        return isinstance(value, list) and len(value) <= schema.get("maxItems", len(value)) and \
            all(follows(schema["items"], v, root) for v in value)
    assert schema["type"] == "object"
    if not isinstance(value, dict):
        return False
    order = list(schema["properties"])
    return set(value) <= set(order) and list(value) == sorted(value, key=order.index) and \
        set(schema.get("required", [])) <= set(value) and \
        all(follows(schema["properties"][k], v, root) for k, v in value.items())


def check_call(call, choice):
    """A call of the tool `choice` names (any declared one for "required") whose arguments follow its schema."""
    assert call["type"] == "function" and re.fullmatch(r"call_[0-9a-f]{24}", call["id"]), call
    name = call["function"]["name"]
    assert name == (choice["function"]["name"] if isinstance(choice, dict) else name) and name in SCHEMAS, call
    arguments = json.loads(call["function"]["arguments"])
    assert follows(SCHEMAS[name], arguments, SCHEMAS[name]), call
    return name


def check_called(choice_answer, choice):
    """A whole answer's choice that is one call and nothing else."""
    message = choice_answer["message"]
    assert choice_answer["finish_reason"] == "tool_calls", choice_answer
    assert message["content"] is None and len(message["tool_calls"]) == 1, message
    return check_call(message["tool_calls"][0], choice)


def streamed(server, **body):
    """{index: (content, [tool_calls chunks], finish_reason)} and the usage of a streamed chat."""
    events = server.stream("/v1/chat/completions", {"messages": [USER], "stream": True,
                                                    "stream_options": {"include_usage": True}, **body})
    assert events[-1] == "[DONE]"
    out = {}
    for event in events[:-2]:
        for c in event["choices"]:
            content, calls, reason = out.get(c["index"], ("", [], None))
            if c["delta"].get("tool_calls"):
                calls = calls + [c["delta"]["tool_calls"]]
            out[c["index"]] = (content + (c["delta"].get("content") or ""), calls, c["finish_reason"] or reason)
    return out, events[-2]["usage"]


@pytest.mark.parametrize("choice", CHOICES, ids=CHOICE_IDS)
def test_forced_calls_always_parse_and_follow_the_schema(server, choice):
    names = set()
    # "required": enough seeds that the model picks each tool (about evenly, here) at least once.
    for seed in range(12 if choice == "required" else 4):
        answer = chat(server, tools=TOOLS, tool_choice=choice, seed=seed, **SAMPLED)
        names.add(check_called(answer["choices"][0], choice))
    if choice == "required":
        assert names == set(SCHEMAS)


# Bounds, a tuple and allOf (what Pydantic writes for constrained fields) guide the arguments too.
VERSE = {
    "type": "object",
    "properties": {
        "chapter": {"type": "integer", "minimum": 1, "maximum": 150},
        "span": {"type": "array", "prefixItems": [{"type": "integer", "minimum": 1, "maximum": 9},
                                                  {"type": "integer", "exclusiveMinimum": 9, "maximum": 99}],
                 "minItems": 2, "maxItems": 2},
        "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "book": {"allOf": [{"$ref": "#/$defs/book"}], "description": "which book"},
    },
    "required": ["chapter", "span", "book"],
    "$defs": {"book": {"enum": BOOKS}},
}


def test_bounded_tuple_and_all_of_arguments_are_guided(server):
    verse = {"type": "function", "function": {"name": "verse"}}
    for seed in range(6):
        c = chat(server, tools=[tool("verse", VERSE)], tool_choice=verse, seed=seed, **SAMPLED)["choices"][0]
        assert c["finish_reason"] == "tool_calls", c
        call = c["message"]["tool_calls"][0]["function"]
        a = json.loads(call["arguments"])
        order = list(VERSE["properties"])
        assert call["name"] == "verse" and list(a) == sorted(a, key=order.index), c
        assert {"chapter", "span", "book"} <= set(a) <= set(order), c
        assert type(a["chapter"]) is int and 1 <= a["chapter"] <= 150, c
        assert len(a["span"]) == 2 and all(type(v) is int for v in a["span"]), c
        assert 1 <= a["span"][0] <= 9 and 9 < a["span"][1] <= 99, c
        assert "weight" not in a or (type(a["weight"]) in (int, float) and 0 < a["weight"] <= 1), c
        assert a["book"] in BOOKS, c


@pytest.mark.parametrize("choice", [NAMED, "required"], ids=["lookup", "required"])
def test_a_streamed_call_comes_whole_in_one_chunk(server, choice):
    for seed in (11, 12):
        whole = chat(server, tools=TOOLS, tool_choice=choice, seed=seed, **SAMPLED)
        check_called(whole["choices"][0], choice)
        choices, usage = streamed(server, tools=TOOLS, tool_choice=choice, seed=seed, **SAMPLED)
        content, chunks, reason = choices[0]
        assert (content, reason, len(chunks)) == ("", "tool_calls", 1), choices
        assert len(chunks[0]) == 1 and chunks[0][0]["index"] == 0, chunks
        check_call(chunks[0][0], choice)
        expected = whole["choices"][0]["message"]["tool_calls"][0]["function"]
        assert chunks[0][0]["function"] == expected  # the same seed samples the same call
        assert usage == whole["usage"]


def test_n_two_each_choice_is_a_guided_call(server):
    answer = chat(server, tools=TOOLS, tool_choice="required", n=2, seed=21, **SAMPLED)
    assert [c["index"] for c in answer["choices"]] == [0, 1]
    for c in answer["choices"]:
        check_called(c, "required")
    choices, _ = streamed(server, tools=TOOLS, tool_choice=NAMED, n=2, seed=22, **SAMPLED)
    assert sorted(choices) == [0, 1]
    for content, chunks, reason in choices.values():
        assert (content, reason, len(chunks)) == ("", "tool_calls", 1), choices
        check_call(chunks[0][0], NAMED)


def rendered_ids(server, text):
    status, _, answer = server.post("/v1/encode", {"input": text, "add_bos": False})
    assert status == 200, answer
    return answer["input_ids"]


def test_the_opening_counts_as_prompt_tokens(server):
    answer = chat(server, tools=TOOLS, tool_choice=NAMED, seed=1, return_token_ids=True, **SAMPLED)
    check_called(answer["choices"][0], NAMED)
    # A named function: that tool alone goes to the template; the prompt ends with the block's opening
    # (qwen's `<tool_call>\n`, nothing for llama3, whose calls are bare objects).
    expected = rendered_ids(server, "user: Who made the light?\ntools: lookup\nassistant:" + opening(server))
    assert answer["choices"][0]["prompt_token_ids"] == expected
    assert answer["usage"]["prompt_tokens"] == len(expected)
    # The reply's ids are the call object alone (and the stop id that ended it, not shown).
    shown = answer["choices"][0]["token_ids"]
    assert answer["usage"]["completion_tokens"] == len(shown) + 1


def test_ignore_eos_ends_right_after_the_call(server):
    answer = chat(server, tools=TOOLS, tool_choice="required", seed=3, ignore_eos=True, return_token_ids=True,
                  **SAMPLED)
    check_called(answer["choices"][0], "required")
    assert answer["usage"]["completion_tokens"] == len(answer["choices"][0]["token_ids"])


# Strings held to a format, a pattern and a length guide the arguments like the rest of the subset.
DATED = tool("dated", {"type": "object", "properties": {
    "day": {"type": "string", "format": "date"},
    "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]$", "maxLength": 3}}, "required": ["day", "code"]})


def test_string_keywords_guide_the_arguments(server):
    for seed in range(3):
        c = chat(server, tools=[DATED], tool_choice={"type": "function", "function": {"name": "dated"}}, seed=seed,
                 **SAMPLED)["choices"][0]
        assert c["finish_reason"] == "tool_calls", c
        arguments = json.loads(c["message"]["tool_calls"][0]["function"]["arguments"])
        assert re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", arguments["day"]), c
        assert re.fullmatch(DATED["function"]["parameters"]["properties"]["code"]["pattern"], arguments["code"]), c


# Schemas that cannot guide the arguments (a keyword or pattern construct outside the compiler's subset, a
# $ref that does not resolve, no parameters, a schema that allows non-objects): the arguments are any JSON
# object.
UNGUIDED_TOOLS = [
    tool("negated", {"type": "object", "properties": {"n": {"type": "integer", "not": {"const": 1}}},
                     "required": ["n"]}),
    tool("peeking", {"type": "object", "properties": {"d": {"type": "string", "pattern": "^(?=2)"}}}),
    tool("dangling", {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}),
    tool("plain"),
    tool("anything", {}),
]


def test_tools_whose_schema_cannot_guide_still_get_a_guided_call(server):
    # Any object: the tiny model may open a key string and never close it, so a reply may be cut by
    # max_tokens (in about half of these); whatever it writes is still the start of a call object.
    key = "arguments" if server.format == "qwen" else "parameters"
    calls = {}
    for t in UNGUIDED_TOOLS:
        name = t["function"]["name"]
        start = re.compile(r"\s*\{\s*\"name\"\s*:\s*\"%s\"\s*,\s*\"%s\"\s*:\s*\{" % (name, key))
        calls[name] = 0
        for seed in range(8):
            c = chat(server, tools=UNGUIDED_TOOLS, tool_choice={"type": "function", "function": {"name": name}},
                     seed=seed, temperature=1.0, max_tokens=96)["choices"][0]
            if c["finish_reason"] == "tool_calls":
                call = c["message"]["tool_calls"][0]["function"]
                assert call["name"] == name and isinstance(json.loads(call["arguments"]), dict), c
                calls[name] += 1
            else:
                assert c["finish_reason"] == "length", c
                content = c["message"]["content"]
                assert content.startswith(opening(server)) and start.match(content[len(opening(server)):]), c
    assert sum(calls.values()) >= 5, calls


@pytest.mark.parametrize("choice", [NAMED, "required"], ids=["lookup", "required"])
@pytest.mark.parametrize("response_format", [
    {"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}],
    ids=["json_object", "json_schema"])
def test_a_json_response_format_beside_a_forced_call_is_400(server, choice, response_format):
    status, _, answer = server.post("/v1/chat/completions", {
        "messages": [USER], "tools": TOOLS, "tool_choice": choice, "response_format": response_format})
    assert status == 400 and answer["error"]["param"] == "response_format", answer
    # Not forced: the JSON format guides the reply.
    answer = chat(server, tools=TOOLS, tool_choice="auto", response_format=response_format, temperature=0,
                  max_tokens=200)
    assert isinstance(json.loads(answer["choices"][0]["message"]["content"]), dict)


def test_a_prompt_that_opened_reasoning_is_not_guided(server):
    # The call would land in the reasoning block: no opening and no grammar, so the reply is the one
    # "auto" gets from the same prompt (kjv-llama's usual text, all reasoning, cut by max_tokens).
    for choice in ("required", NAMED):
        body = {"tools": TOOLS, "chat_template_kwargs": {"think": True}, "temperature": 0, "max_tokens": 12,
                "return_token_ids": True}
        forced = chat(server, tool_choice=choice, **body)["choices"][0]
        auto = chat(server, **{**body, "tools": TOOLS if choice == "required" else TOOLS[:1]})["choices"][0]
        assert forced["finish_reason"] == "length" and "tool_calls" not in forced["message"], forced
        assert forced["prompt_token_ids"] == auto["prompt_token_ids"]
        assert forced["message"] == auto["message"] and forced["message"]["content"] is None, forced
