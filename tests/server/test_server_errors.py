"""Bad input to turbine serve: each a 4xx with an OpenAI-style JSON error while the server stays up;
API keys, the queue bound (429), a model without a chat template, and draining on SIGTERM."""
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from server_harness import BIN, MODEL, Server

PROMPT = "In the beginning"


def chat_format(response_format):
    return {"messages": [{"role": "user", "content": "a"}], "response_format": response_format}


def chat_schema(schema):
    return chat_format({"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})


BAD_REQUESTS = [
    # (name, path, raw body, status, param or code that must be named)
    ("malformed json", "/v1/completions", b'{"prompt": "x",', 400, "invalid_json"),
    ("not an object", "/v1/completions", b'[1, 2]', 400, None),
    ("invalid utf-8", "/v1/completions", b'{"prompt": "\xff\xfe"}', 400, "invalid_json"),
    ("lone surrogate escape", "/v1/completions", b'{"prompt": "\\ud800"}', 400, "invalid_json"),
    ("prompt wrong type", "/v1/completions", {"prompt": 5}, 400, "prompt"),
    ("prompt missing", "/v1/completions", {"max_tokens": 5}, 400, "prompt"),
    ("max_tokens zero", "/v1/completions", {"prompt": PROMPT, "max_tokens": 0}, 400, "max_tokens"),
    ("max_tokens negative", "/v1/completions", {"prompt": PROMPT, "max_tokens": -3}, 400, "max_tokens"),
    ("max_tokens string", "/v1/completions", {"prompt": PROMPT, "max_tokens": "5"}, 400, "max_tokens"),
    ("beyond session", "/v1/completions", {"prompt": PROMPT, "max_tokens": 2046}, 400, "context_length_exceeded"),
    ("prompt too long", "/v1/completions", {"prompt": [1] + [278] * 2100, "max_tokens": 1}, 400,
     "context_length_exceeded"),
    ("token outside vocabulary", "/v1/completions", {"prompt": [1, 32000]}, 400, "prompt"),
    ("temperature string", "/v1/completions", {"prompt": PROMPT, "temperature": "hot"}, 400, "temperature"),
    ("temperature range", "/v1/completions", {"prompt": PROMPT, "temperature": 7}, 400, "temperature"),
    ("top_p zero", "/v1/completions", {"prompt": PROMPT, "top_p": 0}, 400, "top_p"),
    ("stop wrong type", "/v1/completions", {"prompt": PROMPT, "stop": 3}, 400, "stop"),
    ("n zero", "/v1/completions", {"prompt": PROMPT, "n": 0}, 400, "n"),
    ("stream wrong type", "/v1/completions", {"prompt": PROMPT, "stream": "yes"}, 400, "stream"),
    ("unknown model", "/v1/completions", {"model": "gpt-4", "prompt": PROMPT}, 404, "model_not_found"),
    ("completion logprobs over 5", "/v1/completions", {"prompt": PROMPT, "logprobs": 6}, 400, "logprobs"),
    ("completion logprobs bool", "/v1/completions", {"prompt": PROMPT, "logprobs": True}, 400, "logprobs"),
    ("completion top_logprobs", "/v1/completions", {"prompt": PROMPT, "top_logprobs": 2}, 400, "top_logprobs"),
    ("chat logprobs int", "/v1/chat/completions", {"messages": [{"role": "user", "content": "a"}], "logprobs": 2},
     400, "logprobs"),
    ("chat top_logprobs over 20", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "logprobs": True, "top_logprobs": 21}, 400, "top_logprobs"),
    ("chat top_logprobs without logprobs", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "top_logprobs": 3}, 400, "top_logprobs"),
    ("generate logprobs over 20", "/generate", {"prompt": PROMPT, "logprobs": 21}, 400, "logprobs"),
    ("generate top_logprobs", "/generate", {"prompt": PROMPT, "top_logprobs": 2}, 400, "top_logprobs"),
    ("presence penalty over 2", "/v1/completions", {"prompt": PROMPT, "presence_penalty": 2.5}, 400,
     "presence_penalty"),
    ("frequency penalty under -2", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "frequency_penalty": -2.01}, 400, "frequency_penalty"),
    ("frequency penalty string", "/v1/completions", {"prompt": PROMPT, "frequency_penalty": "1"}, 400,
     "frequency_penalty"),
    ("include stop str wrong type", "/v1/completions", {"prompt": PROMPT, "include_stop_str_in_output": 1}, 400,
     "include_stop_str_in_output"),
    ("empty messages", "/v1/chat/completions", {"messages": []}, 400, "messages"),
    ("messages wrong type", "/v1/chat/completions", {"messages": "hi"}, 400, "messages"),
    ("message without role", "/v1/chat/completions", {"messages": [{"content": "hi"}]}, 400, "messages[0].role"),
    ("roles not alternating", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, 400, "messages"),
    ("tool without a name", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function", "function": {}}]},
     400, "tools[0].function.name"),
    ("response_format not an object", "/v1/chat/completions", chat_format("json_object"), 400, "response_format"),
    ("response_format bad type", "/v1/chat/completions", chat_format({"type": "yaml"}), 400, "response_format.type"),
    ("response_format without type", "/v1/completions", {"prompt": PROMPT, "response_format": {}}, 400,
     "response_format.type"),
    ("response_format unknown field", "/v1/chat/completions",
     chat_format({"type": "json_object", "schema": {}}), 400, "response_format.schema"),
    ("json_schema missing", "/v1/chat/completions", chat_format({"type": "json_schema"}), 400,
     "response_format.json_schema"),
    ("json_schema without name", "/v1/chat/completions",
     chat_format({"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}), 400,
     "response_format.json_schema.name"),
    ("json_schema bad name", "/v1/completions",
     {"prompt": PROMPT, "response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}}, 400,
     "response_format.json_schema.name"),
    ("json_schema strict not bool", "/v1/chat/completions",
     chat_format({"type": "json_schema", "json_schema": {"name": "a", "strict": "yes"}}), 400,
     "response_format.json_schema.strict"),
    ("json_schema unknown field", "/v1/chat/completions",
     chat_format({"type": "json_schema", "json_schema": {"name": "a", "schemas": {}}}), 400,
     "response_format.json_schema.schemas"),
    ("schema not an object", "/v1/chat/completions",
     chat_format({"type": "json_schema", "json_schema": {"name": "a", "schema": "object"}}), 400,
     "response_format.json_schema.schema"),
    ("schema unsupported keyword", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"name": {"type": "string", "not": {"const": ""}}}}), 400,
     "response_format.json_schema.schema.properties.name.not"),
    ("schema empty range", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"age": {"type": "integer", "minimum": 5, "maximum": 3}}}), 400,
     "response_format.json_schema.schema.properties.age.maximum"),
    ("schema enum the type leaves empty", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"size": {"type": "integer", "enum": ["S", "M"]}}}), 400,
     "response_format.json_schema.schema.properties.size.enum"),
    ("schema pattern outside the subset", "/v1/completions",
     {"prompt": PROMPT, "response_format": {"type": "json_schema", "json_schema": {
         "name": "a", "schema": {"type": "string", "pattern": "^x(?=y)"}}}}, 400,
     "response_format.json_schema.schema.pattern"),
    ("schema unknown format", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"c": {"type": "string", "format": "color"}}}), 400,
     "response_format.json_schema.schema.properties.c.format"),
    ("schema bad type", "/v1/chat/completions", chat_schema({"type": "text"}), 400,
     "response_format.json_schema.schema.type"),
    ("schema unresolved ref", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/nothing"}}}), 400,
     "response_format.json_schema.schema.properties.a.$ref"),
    ("schema required names a missing property", "/v1/chat/completions",
     chat_schema({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}), 400,
     "response_format.json_schema.schema.required[0]"),
    ("response_format with a forced tool call", "/v1/chat/completions",
     {**chat_format({"type": "json_object"}), "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": "required"}, 400, "response_format"),
    ("response_format type on generate", "/generate", {"prompt": PROMPT, "response_format": {"type": "xml"}},
     400, "response_format.type"),
    ("chat unknown model", "/v1/chat/completions", {"model": "x", "messages": [{"role": "user", "content": "a"}]},
     404, "model_not_found"),
    ("stream_options without stream", "/v1/completions",
     {"prompt": PROMPT, "stream_options": {"include_usage": True}}, 400, "stream_options"),
    ("echo", "/v1/completions", {"prompt": PROMPT, "echo": True}, 400, "echo"),
    ("best_of", "/v1/completions", {"prompt": PROMPT, "best_of": 2}, 400, "best_of"),
    ("empty stop string", "/v1/completions", {"prompt": PROMPT, "stop": [""]}, 400, "stop"),
    ("image content", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, 400,
     "unsupported_parameter"),
    ("tools on completions", "/v1/completions",
     {"prompt": PROMPT, "tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "tools"),
    ("tool_choice required", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "tool_choice": "required"}, 400, "tool_choice"),
    ("template kwargs wrong type", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "a"}], "chat_template_kwargs": [1]}, 400, "chat_template_kwargs"),
    ("session_id wrong type", "/generate", {"prompt": PROMPT, "session_id": "x"}, 400, "session_id"),
    ("abort without target", "/abort_request", {}, 400, "session_id"),
    ("abort unknown request", "/abort_request", {"request_id": "cmpl-none"}, 404, "request_id"),
    ("unknown session", "/generate", {"session_id": 424242, "end_session": True}, 404, "session_not_found"),
    ("generate without prompt", "/generate", {"max_tokens": 3}, 400, "prompt"),
    ("encode wrong type", "/v1/encode", {"input": 3}, 400, "input"),
    ("unknown route", "/v1/nothing", {}, 404, "not_found"),
]


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    assert s.stop() == 0


def check_error(status, body, expected_status, named):
    assert status == expected_status, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if named:
        assert named in (error["param"], error["code"]), error


@pytest.mark.parametrize("name,path,body,status,named", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_request_is_a_json_4xx(server, name, path, body, status, named):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got, _, answer = server.request("POST", path, raw=raw)
    check_error(got, answer, status, named)
    assert server.request("GET", "/health")[0] == 200


def test_wrong_method(server):
    status, _, body = server.request("GET", "/v1/completions")
    check_error(status, body, 405, "method_not_allowed")


def test_body_over_the_limit_is_413(server):
    big = b'{"prompt": "' + b"a" * (11 << 20) + b'"}'
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(big)}\r\n\r\n".encode())
        try:
            sock.sendall(big)
        except OSError:
            pass  # the server may answer and close before reading it all
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"request_too_large"' in answer
    assert server.request("GET", "/health")[0] == 200


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """kjv-llama without its chat template, with an API key and room for one request at a time."""
    folder = tmp_path_factory.mktemp("kjv-no-template")
    for f in MODEL.iterdir():
        if f.name != "tokenizer_config.json":
            (folder / f.name).symlink_to(f)
    config = json.loads((MODEL / "tokenizer_config.json").read_text())
    config.pop("chat_template")
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    s = Server("--api-keys", "secret", "other", "--max-batch-size", "1", "--max-queue", "0",
               "--drain-timeout", "30", "--allow-origins", "http://a.example", model=folder)
    yield s
    s.stop()
    shutil.rmtree(folder, ignore_errors=True)


KEY = {"Authorization": "Bearer secret"}


def test_api_keys(guarded):
    body = {"prompt": PROMPT, "max_tokens": 2}
    status, headers, answer = guarded.post("/v1/completions", body)
    check_error(status, answer, 401, "invalid_api_key")
    status, _, answer = guarded.post("/v1/completions", body, headers={"Authorization": "Bearer nope"})
    check_error(status, answer, 401, "invalid_api_key")
    assert guarded.request("GET", "/v1/models", headers={"Authorization": "Bearer other"})[0] == 200
    assert guarded.post("/v1/completions", body, headers=KEY)[0] == 200
    assert guarded.request("GET", "/health")[0] == 200  # health needs no key


def test_cors_allows_only_the_given_origins(guarded):
    status, headers, _ = guarded.request("OPTIONS", "/v1/completions", headers={"Origin": "http://a.example"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "http://a.example"
    assert "Authorization" in headers["access-control-allow-headers"]
    status, headers, _ = guarded.request("GET", "/v1/models", headers={**KEY, "Origin": "http://a.example"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://a.example"
    status, headers, _ = guarded.request("GET", "/v1/models", headers={**KEY, "Origin": "http://b.example"})
    assert status == 200 and "access-control-allow-origin" not in headers


def test_chat_without_template_is_400(guarded):
    status, _, answer = guarded.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]},
                                     headers=KEY)
    check_error(status, answer, 400, "messages")
    assert "--chat-template" in answer["error"]["message"]


def test_full_queue_is_429_then_sigterm_drains(guarded):
    long = {"prompt": PROMPT, "max_tokens": 300, "ignore_eos": True, "stream": True}
    data = json.dumps(long).encode()
    sock = socket.create_connection(("127.0.0.1", guarded.port))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                 + f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    received = b""
    while b"data: " not in received:
        received += sock.recv(4096)
    status, headers, answer = guarded.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 2}, headers=KEY)
    check_error(status, answer, 429, "queue_full")
    assert headers["retry-after"] == "1"
    # SIGTERM while the long request runs: it finishes, then the server exits 0.
    done = threading.Event()

    def read_rest():
        nonlocal received
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            if received.endswith(b"0\r\n\r\n"):
                break
        done.set()

    reader = threading.Thread(target=read_rest)
    reader.start()
    assert guarded.stop() == 0
    reader.join(timeout=60)
    sock.close()
    assert done.is_set()
    assert b"data: [DONE]" in received and b'"finish_reason":"length"' in received


def test_chat_template_flag_serves_chat(tmp_path):
    """The same template-less folder with --chat-template FILE answers chat requests."""
    folder = tmp_path / "kjv"
    folder.mkdir()
    for f in MODEL.iterdir():
        if f.name != "tokenizer_config.json":
            (folder / f.name).symlink_to(f)
    config = json.loads((MODEL / "tokenizer_config.json").read_text())
    template = tmp_path / "template.jinja"
    template.write_text(config.pop("chat_template"))
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    s = Server("--chat-template", template, model=folder)
    try:
        messages = [{"role": "user", "content": "Who made the light?"}]
        status, _, body = s.post("/v1/chat/completions", {"messages": messages, "max_tokens": 6, "temperature": 0})
        assert status == 200, body
        assert body["choices"][0]["message"]["content"]
    finally:
        assert s.stop() == 0
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% if %}")
    result = subprocess.run([BIN, "serve", str(folder), "--device", "cpu", "--chat-template", str(bad)],
                            capture_output=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: --chat-template")


def test_drain_timeout_cancels_what_is_left():
    s = Server("--drain-timeout", "0.5")
    data = json.dumps({"prompt": PROMPT, "max_tokens": 2000, "ignore_eos": True, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    received = b""
    while b"data: " not in received:
        received += sock.recv(4096)
    assert s.stop() == 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    sock.close()
    assert b'"finish_reason":"abort"' in received and b"data: [DONE]" in received


def raw_exchange(server, data):
    """Sends bytes and returns everything the server answers before it closes the connection."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk
    finally:
        sock.close()


@pytest.mark.parametrize("data,status", [
    (b"\x00\x01garbage\r\n\r\n", b"400"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\"", None),
], ids=["not http", "header too large", "cut short"])
def test_malformed_http_keeps_the_server_up(server, data, status):
    answer = raw_exchange(server, data)
    if status:
        assert answer.startswith(b"HTTP/1.1 " + status), answer[:100]
        assert b'"error"' in answer
    assert server.request("GET", "/health")[0] == 200


def test_port_in_use_is_a_clean_error(server):
    result = subprocess.run([BIN, "serve", str(MODEL), "--device", "cpu", "--port", str(server.port)],
                            capture_output=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("error: --host/--port: cannot listen"), lines


def test_quiet_connections_are_closed_after_the_idle_timeout():
    s = Server("--idle-timeout", "0.5")
    try:
        silent = socket.create_connection(("127.0.0.1", s.port))
        silent.settimeout(10)
        start = time.time()
        assert silent.recv(100) == b""  # never sent a request: closed
        assert time.time() - start < 5
        silent.close()
        partial = socket.create_connection(("127.0.0.1", s.port))
        partial.settimeout(10)
        partial.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        assert partial.recv(100) == b""  # a request that never ends: closed
        partial.close()
        conn = s.connection()
        conn.request("GET", "/health")
        assert conn.getresponse().read()
        time.sleep(1.5)
        assert conn.sock.recv(100) == b""  # an idle keep-alive connection: closed
        conn.close()
        # A stream that runs longer than the idle timeout is not cut.
        events = s.stream("/v1/completions", {"prompt": PROMPT, "max_tokens": 200, "ignore_eos": True,
                                              "stream": True})
        assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "length"
    finally:
        assert s.stop() == 0


def test_a_template_that_does_not_parse_is_named_in_the_400(tmp_path):
    """The model's own template is broken: the server still serves completions, and a chat request's
    400 says what is wrong with the template rather than that there is none."""
    for f in MODEL.iterdir():
        if f.name != "tokenizer_config.json":
            (tmp_path / f.name).symlink_to(f)
    config = json.loads((MODEL / "tokenizer_config.json").read_text())
    config["chat_template"] = "{% for m in messages %}{{ m.content }"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    s = Server(model=tmp_path)
    try:
        status, _, answer = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
        check_error(status, answer, 400, "messages")
        message = answer["error"]["message"]
        assert "no usable chat template" in message and "--chat-template" in message
        assert message != "" and "(" in message and "()" not in message  # the parse error is quoted
        assert s.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 2})[0] == 200
    finally:
        s.stop()
