"""response_format through turbine serve: json_object and json_schema on /v1/chat/completions,
/v1/completions and /generate (with a session too), whole and streamed, n=2 (each choice its own
matcher), numeric bounds, tuples and allOf sampled over several seeds; outputs are parsed and checked
against their schema here, in Python."""
import json
import re

import pytest

from server_harness import Server

MESSAGES = [{"role": "user", "content": "Who created the heaven and the earth?"}]

SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"enum": ["God", "Moses", "none"]},
        "sure": {"type": "boolean"},
        "verses": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        "book": {"anyOf": [{"$ref": "#/$defs/book"}, {"type": "null"}]},
    },
    "required": ["answer", "sure", "verses"],
    "additionalProperties": False,
    "$defs": {"book": {"enum": ["Genesis", "Exodus"]}},
}
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}


def check_schema_output(text):
    """The subset of SCHEMA's rules, checked by hand: order, required keys, types, enums, counts."""
    value = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    keys = [k for k, _ in value]
    order = list(SCHEMA["properties"])
    assert keys == sorted(keys, key=order.index), text
    assert set(SCHEMA["required"]) <= set(keys), text
    fields = dict(value)
    assert fields["answer"] in ("God", "Moses", "none")
    assert isinstance(fields["sure"], bool)
    assert 1 <= len(fields["verses"]) <= 3 and all(type(v) is int for v in fields["verses"])
    assert fields.get("book", None) in ("Genesis", "Exodus", None)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.wait_no_active_blocks()
    assert s.stop() == 0


def chat(server, response_format, **extra):
    body = {"messages": MESSAGES, "max_tokens": 200, "temperature": 0, "response_format": response_format, **extra}
    status, _, answer = server.post("/v1/chat/completions", body)
    assert status == 200, answer
    return answer


def streamed_choices(server, path, body):
    """{index: (text, finish_reason)} from a streamed response."""
    events = server.stream(path, {**body, "stream": True})
    assert events[-1] == "[DONE]"
    out = {}
    for e in events[:-1]:
        for c in e["choices"]:
            text, reason = out.get(c["index"], ("", None))
            piece = (c["delta"].get("content") or "") if "delta" in c else c.get("text", "")
            out[c["index"]] = (text + piece, c["finish_reason"] or reason)
    return out


def test_json_object_whole_and_streamed(server):
    whole = chat(server, {"type": "json_object"})
    choice = whole["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert isinstance(json.loads(choice["message"]["content"]), dict)
    streamed = streamed_choices(server, "/v1/chat/completions",
                                {"messages": MESSAGES, "max_tokens": 200, "temperature": 0,
                                 "response_format": {"type": "json_object"}})
    assert streamed == {0: (choice["message"]["content"], "stop")}


def test_json_schema_whole_and_streamed(server):
    whole = chat(server, SCHEMA_FORMAT)
    choice = whole["choices"][0]
    assert choice["finish_reason"] == "stop"
    check_schema_output(choice["message"]["content"])
    streamed = streamed_choices(server, "/v1/chat/completions",
                                {"messages": MESSAGES, "max_tokens": 200, "temperature": 0,
                                 "response_format": SCHEMA_FORMAT})
    assert streamed == {0: (choice["message"]["content"], "stop")}


def test_n_two_sampled_choices_each_follow_the_schema(server):
    answer = chat(server, SCHEMA_FORMAT, n=2, temperature=1.0, seed=3)
    assert [c["index"] for c in answer["choices"]] == [0, 1]
    for c in answer["choices"]:
        assert c["finish_reason"] == "stop", c
        check_schema_output(c["message"]["content"])
    streamed = streamed_choices(server, "/v1/chat/completions",
                                {"messages": MESSAGES, "max_tokens": 200, "temperature": 1.0, "seed": 4, "n": 2,
                                 "response_format": SCHEMA_FORMAT})
    assert sorted(streamed) == [0, 1]
    for text, reason in streamed.values():
        assert reason == "stop", text
        check_schema_output(text)


def test_completions_take_response_format(server):
    body = {"prompt": "In the beginning", "max_tokens": 200, "temperature": 0, "response_format": SCHEMA_FORMAT}
    status, _, answer = server.post("/v1/completions", body)
    assert status == 200, answer
    assert answer["choices"][0]["finish_reason"] == "stop"
    check_schema_output(answer["choices"][0]["text"])
    streamed = streamed_choices(server, "/v1/completions", body)
    assert streamed == {0: (answer["choices"][0]["text"], "stop")}


def test_generate_takes_response_format_on_a_session_turn(server):
    # A free first turn, then a guided one on the same session: only the guided call's output follows
    # the schema, and the session keeps both turns.
    first = server.post("/generate", {"prompt": "In the beginning", "session_id": 31, "max_tokens": 5,
                                      "temperature": 0, "ignore_eos": True})
    assert first[0] == 200, first
    body = {"prompt": " Answer:", "session_id": 31, "max_tokens": 200, "temperature": 0,
            "response_format": SCHEMA_FORMAT}
    status, _, answer = server.post("/generate", body)
    assert status == 200, answer
    assert answer["finish_reason"] == "stop" and answer["history_tokens"] == first[2]["input_tokens"] + 5
    check_schema_output(answer["text"])
    assert server.post("/generate", {"session_id": 31, "end_session": True})[0] == 200
    # Stateless, whole and streamed: json_object gives one JSON value, the same both ways.
    body = {"prompt": "In the beginning", "max_tokens": 200, "temperature": 0, "response_format": {"type": "json_object"}}
    status, _, whole = server.post("/generate", body)
    assert status == 200 and whole["finish_reason"] == "stop", whole
    json.loads(whole["text"])
    events = server.stream("/generate", {**body, "stream": True})
    assert events[-1] == "[DONE]"
    assert "".join(e["text"] for e in events[:-1]) == whole["text"]
    assert events[-2]["finish_reason"] == "stop"


# Strings held to a pattern, formats and a length: each bounded, so the tiny model always finishes them.
STRINGS = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
        "day": {"type": "string", "format": "date"},
        "id": {"type": "string", "format": "uuid"},
        "word": {"type": "string", "minLength": 2, "maxLength": 5},
    },
    "required": ["code", "day", "id", "word"],
    "additionalProperties": False,
}
# The format patterns as docs/server.md states them (a day of 01-31 whatever the month).
DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


def test_string_keywords_hold_in_sampled_outputs(server):
    response_format = {"type": "json_schema", "json_schema": {"name": "record", "schema": STRINGS, "strict": True}}
    for seed in range(6):
        choice = chat(server, response_format, temperature=1.0, seed=seed, max_tokens=256)["choices"][0]
        assert choice["finish_reason"] == "stop", choice
        value = json.loads(choice["message"]["content"], object_pairs_hook=lambda pairs: pairs)
        assert [k for k, _ in value] == list(STRINGS["properties"]), choice
        fields = dict(value)
        assert re.fullmatch(STRINGS["properties"]["code"]["pattern"], fields["code"]), fields
        assert re.fullmatch(DATE, fields["day"]), fields
        assert re.fullmatch(UUID, fields["id"]), fields
        assert 2 <= len(fields["word"]) <= 5, fields


def test_max_tokens_cuts_it_short_with_length(server):
    answer = chat(server, SCHEMA_FORMAT, max_tokens=4)
    assert answer["choices"][0]["finish_reason"] == "length"


def test_text_format_and_no_schema(server):
    plain = chat(server, {"type": "text"}, max_tokens=8)
    unguided = server.post("/v1/chat/completions", {"messages": MESSAGES, "max_tokens": 8, "temperature": 0})[2]
    assert plain["choices"][0]["message"] == unguided["choices"][0]["message"]
    # json_schema without a schema: any JSON value.
    anything = chat(server, {"type": "json_schema", "json_schema": {"name": "any"}})
    json.loads(anything["choices"][0]["message"]["content"])


# What Pydantic writes for constrained fields: integer and number ranges (exclusive ones too, a
# multiple), a tuple[int, str] (prefixItems with minItems/maxItems), a nested model behind allOf, an
# Optional bounded integer.
BOUNDED_SCHEMA = {
    "type": "object",
    "properties": {
        "chapter": {"type": "integer", "minimum": 1, "maximum": 50, "title": "Chapter"},
        "verse": {"type": "integer", "exclusiveMinimum": -3, "exclusiveMaximum": 40, "multipleOf": 4},
        "weight": {"type": "number", "minimum": -1.5, "maximum": 2.25},
        "share": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.0},
        "pair": {"type": "array", "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 9},
                                                  {"enum": ["a", "b"]}], "minItems": 2, "maxItems": 2},
        "book": {"allOf": [{"$ref": "#/$defs/Book"}], "description": "the book"},
        "tail": {"anyOf": [{"type": "integer", "minimum": -20, "maximum": -10}, {"type": "null"}], "default": None},
    },
    "required": ["chapter", "verse", "weight", "share", "pair", "book", "tail"],
    "additionalProperties": False,
    "$defs": {"Book": {"type": "object", "properties": {"name": {"enum": ["Genesis", "Exodus"]},
                                                        "year": {"type": "integer", "minimum": -4004, "maximum": 0}},
                       "required": ["name", "year"], "title": "Book"}},
}
BOUNDED_FORMAT = {"type": "json_schema", "json_schema": {"name": "bounded", "schema": BOUNDED_SCHEMA}}


def is_int(v):
    return type(v) is int


def is_number(v):
    return type(v) in (int, float)


def check_bounded_output(text):
    """BOUNDED_SCHEMA's rules, checked by hand on what Python's json reads."""
    v = json.loads(text)
    assert list(v) == list(BOUNDED_SCHEMA["properties"]), text
    assert is_int(v["chapter"]) and 1 <= v["chapter"] <= 50, text
    assert is_int(v["verse"]) and -3 < v["verse"] < 40 and v["verse"] % 4 == 0, text
    assert is_number(v["weight"]) and -1.5 <= v["weight"] <= 2.25, text
    assert is_number(v["share"]) and 0 < v["share"] < 1.0, text
    assert len(v["pair"]) == 2 and is_int(v["pair"][0]) and 0 <= v["pair"][0] <= 9 and v["pair"][1] in ("a", "b"), text
    book = v["book"]
    assert list(book) == ["name", "year"] and book["name"] in ("Genesis", "Exodus"), text
    assert is_int(book["year"]) and -4004 <= book["year"] <= 0, text
    assert v["tail"] is None or (is_int(v["tail"]) and -20 <= v["tail"] <= -10), text


def test_bounds_tuples_and_all_of_hold_over_sampled_seeds(server):
    # Every value is bounded (a bounded number has at most 15 digits), so every choice finishes.
    for seed in range(6):
        answer = chat(server, BOUNDED_FORMAT, n=2, temperature=1.0, seed=seed, max_tokens=300)
        for c in answer["choices"]:
            assert c["finish_reason"] == "stop", c
            check_bounded_output(c["message"]["content"])


def test_a_top_level_bounded_integer_ends_where_it_cannot_grow(server):
    # maximum 5 on a top-level integer: once written it cannot grow, so the choice stops there.
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "integer", "minimum": -2,
                                                                          "maximum": 5}}}
    for seed in range(4):
        answer = chat(server, fmt, temperature=1.0, seed=seed, max_tokens=50)
        c = answer["choices"][0]
        assert c["finish_reason"] == "stop", c
        assert -2 <= json.loads(c["message"]["content"]) <= 5, c
