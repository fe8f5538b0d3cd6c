"""The real Llama-3 and Qwen3 chat templates (../shared/tokenizers) render tool conversations, in the shape
`turbine serve` hands them to the template, byte-identically to python3-jinja2 configured as transformers
does: OpenAI function tools, assistant turns with tool_calls (ids, arguments as objects, content "" or text),
tool results with tool_call_id, parallel calls, reasoning_content, enable_thinking on and off."""
import json
import os

import pytest

from jinja_reference import SHARED, check_same

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city — 天気",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "e.g. Zürich"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
NO_PARAMETERS = {"type": "function", "function": {"name": "ping"}}


def call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


USER = {"role": "user", "content": "What is the weather in Zürich and in 東京, and what time is it?"}
CONVERSATIONS = [
    [USER],
    [{"role": "system", "content": "You are a helpful assistant."}, USER],
    # Parallel calls and their results.
    [USER,
     {"role": "assistant", "content": "", "tool_calls": [
         call("call_a", "get_weather", {"city": "Zürich", "unit": "celsius"}),
         call("call_b", "get_weather", {"city": "東京"}), call("call_c", "get_time", {})]},
     {"role": "tool", "content": "{\"temp\": 4, \"sky\": \"🌧\"}", "tool_call_id": "call_a"},
     {"role": "tool", "content": "{\"temp\": 12}", "tool_call_id": "call_b"},
     {"role": "tool", "content": "09:41", "tool_call_id": "call_c"}],
    # Content before a call, a reasoning_content given back, the final answer after the results.
    [{"role": "system", "content": "Be brief."}, USER,
     {"role": "assistant", "content": "Let me check.", "reasoning_content": "Two cities, one clock.",
      "tool_calls": [call("call_1", "get_weather", {"city": "Zürich"})]},
     {"role": "tool", "content": "4 degrees", "tool_call_id": "call_1"},
     {"role": "assistant", "content": "It is 4 °C in Zürich."},
     {"role": "user", "content": "Thanks!"}],
    # Arguments a client sent as a string that is not JSON stay a string.
    [USER, {"role": "assistant", "content": "", "tool_calls": [call("call_x", "ping", "not json")]},
     {"role": "tool", "content": "pong", "tool_call_id": "call_x"}],
]
VARIANTS = [({}, True), ({"enable_thinking": False}, True), ({"enable_thinking": True}, True), ({}, False)]


@pytest.mark.parametrize("name", ["llama3", "qwen3"])
@pytest.mark.parametrize("index", range(len(CONVERSATIONS)))
def test_tool_conversation_renders_as_jinja2(name, index):
    with open(os.path.join(SHARED, "tokenizers", name, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)

    def token(key):
        value = config.get(key)
        return value["content"] if isinstance(value, dict) else value

    for tools in ([WEATHER, TIME, NO_PARAMETERS], None):
        for variables, add in VARIANTS:
            check_same(config["chat_template"], CONVERSATIONS[index], tools=tools, add_generation_prompt=add,
                       variables=variables, bos=token("bos_token"), eos=token("eos_token"))
