"""turbine serve on kjv-llama (CPU): OpenAI endpoints against the goldens, streaming, n, stop,
usage, /generate sessions, /v1/encode, metrics and client disconnects."""
import json
import resource
import socket
import threading
import time

import pytest

from server_harness import Server, golden

CASES = golden()["kjv-llama"]
TOLERANCE = 0.05  # margin rule, fp32 CPU


def trusted_steps(case):
    return next((i for i, m in enumerate(case["margins"]) if m < TOLERANCE), len(case["margins"]))


@pytest.fixture(scope="module")
def server():
    s = Server("--served-model-name", "kjv")
    yield s
    assert s.stop() == 0


def complete(server, prompt, max_tokens, **extra):
    status, _, body = server.post("/v1/completions", {"model": "kjv", "prompt": prompt, "max_tokens": max_tokens,
                                                      "temperature": 0, **extra})
    assert status == 200, body
    return body


@pytest.mark.parametrize("case", CASES, ids=[c["prompt"][:20] for c in CASES])
def test_greedy_completion_matches_golden(server, case):
    n = len(case["greedy_ids"])
    body = complete(server, case["prompt"], n, ignore_eos=True, return_token_ids=True)
    choice = body["choices"][0]
    assert choice["prompt_token_ids"] == case["prompt_ids"]
    k = trusted_steps(case)
    assert choice["token_ids"][:k] == case["greedy_ids"][:k]
    assert choice["finish_reason"] == "length"
    assert body["usage"] == {"prompt_tokens": len(case["prompt_ids"]), "completion_tokens": n,
                             "total_tokens": len(case["prompt_ids"]) + n}
    assert body["object"] == "text_completion" and body["model"] == "kjv"


def test_token_id_prompt_equals_text_prompt(server):
    case = CASES[0]
    by_text = complete(server, case["prompt"], 8)
    by_ids = complete(server, case["prompt_ids"], 8)
    assert by_text["choices"][0]["text"] == by_ids["choices"][0]["text"]


def test_encode_matches_golden_prompt_ids(server):
    status, _, body = server.post("/v1/encode", {"input": CASES[1]["prompt"]})
    assert status == 200
    assert body["input_ids"] == CASES[1]["prompt_ids"] and body["length"] == len(CASES[1]["prompt_ids"])
    status, _, body = server.post("/v1/encode", {"input": [c["prompt"] for c in CASES[:2]], "add_bos": False})
    assert body["input_ids"] == [c["prompt_ids"][1:] for c in CASES[:2]]


def test_models_lists_the_served_name(server):
    status, _, body = server.request("GET", "/v1/models")
    assert status == 200 and [m["id"] for m in body["data"]] == ["kjv"]
    assert body["data"][0]["vocab_size"] == 32000  # kjv-llama's config.json


def test_streamed_completion_concatenates_to_the_whole(server):
    prompt = CASES[2]["prompt"]
    whole = complete(server, prompt, 30, ignore_eos=True)["choices"][0]["text"]
    events = server.stream("/v1/completions", {"prompt": prompt, "max_tokens": 30, "temperature": 0,
                                               "ignore_eos": True, "stream": True,
                                               "stream_options": {"include_usage": True}})
    assert events[-1] == "[DONE]"
    usage = events[-2]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 30
    chunks = events[:-2]
    assert "".join(e["choices"][0]["text"] for e in chunks) == whole
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all(e["choices"][0]["finish_reason"] is None for e in chunks[:-1])
    assert all(e["usage"] is None for e in chunks)


def test_chat_streamed_equals_whole(server):
    messages = [{"role": "user", "content": "Who created the heaven and the earth?"}]
    status, _, whole = server.post("/v1/chat/completions", {"messages": messages, "max_tokens": 24,
                                                            "temperature": 0})
    assert status == 200, whole
    choice = whole["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] in ("stop", "length")
    assert whole["object"] == "chat.completion"
    events = server.stream("/v1/chat/completions", {"messages": messages, "max_tokens": 24, "temperature": 0,
                                                    "stream": True})
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in chunks) == choice["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]
    assert all(e["object"] == "chat.completion.chunk" for e in chunks)


def test_chat_content_parts_and_template_kwargs(server):
    parts = [{"role": "user", "content": [{"type": "text", "text": "Who created "}, {"type": "text", "text": "light?"}]}]
    plain = [{"role": "user", "content": "Who created light?"}]
    a = server.post("/v1/chat/completions", {"messages": parts, "max_tokens": 8, "temperature": 0,
                                             "chat_template_kwargs": {"enable_thinking": False}})
    b = server.post("/v1/chat/completions", {"messages": plain, "max_tokens": 8, "temperature": 0})
    assert a[0] == b[0] == 200
    assert a[2]["choices"][0]["message"] == b[2]["choices"][0]["message"]


def test_n_two_choices(server):
    body = complete(server, CASES[0]["prompt"], 6, n=2, ignore_eos=True)
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["choices"][0]["text"] == body["choices"][1]["text"]  # greedy: both the same
    assert body["usage"]["completion_tokens"] == 12
    assert body["usage"]["prompt_tokens"] == len(CASES[0]["prompt_ids"])
    sampled = complete(server, CASES[0]["prompt"], 12, n=2, temperature=1.0, seed=5, ignore_eos=True)
    again = complete(server, CASES[0]["prompt"], 12, n=2, temperature=1.0, seed=5, ignore_eos=True)
    assert [c["text"] for c in sampled["choices"]] == [c["text"] for c in again["choices"]]


def test_list_of_prompts(server):
    body = complete(server, [CASES[0]["prompt"], CASES[1]["prompt"]], 5, n=2)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2, 3]
    single = complete(server, CASES[1]["prompt"], 5)
    assert body["choices"][2]["text"] == single["choices"][0]["text"]


def test_stop_string_ends_and_is_not_shown(server):
    prompt = CASES[0]["prompt"]
    whole = complete(server, prompt, 20, ignore_eos=True)["choices"][0]["text"]
    assert "earth" in whole
    body = complete(server, prompt, 20, ignore_eos=True, stop=["earth"])
    assert body["choices"][0]["text"] == whole[:whole.index("earth")]
    assert body["choices"][0]["finish_reason"] == "stop"
    events = server.stream("/v1/completions", {"prompt": prompt, "max_tokens": 20, "temperature": 0,
                                               "ignore_eos": True, "stop": "earth", "stream": True})
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == whole[:whole.index("earth")]


def test_generate_session_keeps_the_conversation(server):
    first = server.post("/generate", {"prompt": "In the beginning", "session_id": 7, "max_tokens": 6,
                                      "temperature": 0, "ignore_eos": True})
    assert first[0] == 200, first
    assert first[2]["history_tokens"] == 0 and len(first[2]["output_ids"]) == 6
    hits = server.metrics()["turbine_prefix_cache_hit_tokens_total"]
    second = server.post("/generate", {"prompt": " and", "session_id": 7, "max_tokens": 4, "temperature": 0,
                                       "ignore_eos": True})
    assert second[0] == 200 and second[2]["history_tokens"] == first[2]["input_tokens"] + 6
    # The session's KV was kept: all of it but the last generated id (never fed back) is reused.
    reused = server.metrics()["turbine_prefix_cache_hit_tokens_total"] - hits
    assert reused >= second[2]["history_tokens"] - 1
    # The same conversation in one stateless call gives the same continuation.
    _, _, ids = server.post("/v1/encode", {"input": "In the beginning"})
    _, _, more = server.post("/v1/encode", {"input": " and", "add_bos": False})
    whole = server.post("/generate", {"input_ids": ids["input_ids"] + first[2]["output_ids"] + more["input_ids"],
                                      "max_tokens": 4, "temperature": 0, "ignore_eos": True})
    assert whole[2]["output_ids"] == second[2]["output_ids"]
    ended = server.post("/generate", {"session_id": 7, "end_session": True})
    assert ended[0] == 200 and ended[2]["ended"] is True
    again = server.post("/generate", {"session_id": 7, "end_session": True})
    assert again[0] == 404 and again[2]["error"]["code"] == "session_not_found"


def open_stream(server, path, body):
    """Starts a streamed request and returns the socket after its first event arrived."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    data = json.dumps(body).encode()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    received = b""
    while b"data: " not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    return sock


def test_busy_session_is_occupied_and_abort_frees_it(server):
    sock = open_stream(server, "/generate", {"prompt": "And God said", "session_id": 9, "max_tokens": 1500,
                                             "ignore_eos": True, "stream": True})
    try:
        status, _, body = server.post("/generate", {"prompt": "x", "session_id": 9, "max_tokens": 2})
        assert status == 400 and body["error"]["code"] == "session_occupied"
        assert "occupied" in body["error"]["message"]
        status, _, body = server.post("/abort_request", {"session_id": 9})
        assert status == 200 and body["aborted"] == 1
        rest = b""
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        assert b'"finish_reason":"abort"' in rest
    finally:
        sock.close()
    # The session keeps its KV (Active blocks) until it is ended.
    assert server.post("/generate", {"session_id": 9, "end_session": True})[0] == 200
    server.wait_no_active_blocks()
    status, _, body = server.post("/abort_request", {"session_id": 12345})
    assert status == 404


@pytest.mark.parametrize("stream", [True, False])
def test_disconnect_cancels_and_frees_kv(server, stream):
    before = server.metrics()['turbine_requests_total{finish_reason="abort"}']
    if stream:
        sock = open_stream(server, "/v1/completions", {"prompt": "And God said", "max_tokens": 1800,
                                                       "ignore_eos": True, "stream": True})
    else:
        sock = socket.create_connection(("127.0.0.1", server.port))
        data = json.dumps({"prompt": "And God said", "max_tokens": 1800, "ignore_eos": True}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        deadline = time.time() + 30
        while server.metrics()["turbine_requests_running"] == 0:
            assert time.time() < deadline
            time.sleep(0.02)
    sock.close()
    after = server.wait_no_active_blocks(timeout=10)
    assert after['turbine_requests_total{finish_reason="abort"}'] == before + 1


def test_metrics_counts_tokens_and_latency(server):
    before = server.metrics()
    complete(server, CASES[0]["prompt"], 5, ignore_eos=True)
    after = server.metrics()
    assert after["turbine_generation_tokens_total"] - before["turbine_generation_tokens_total"] == 5
    assert after["turbine_prompt_tokens_total"] - before["turbine_prompt_tokens_total"] == len(CASES[0]["prompt_ids"])
    assert after['turbine_requests_total{finish_reason="length"}'] == before['turbine_requests_total{finish_reason="length"}'] + 1
    assert after["turbine_time_to_first_token_seconds_count"] == before["turbine_time_to_first_token_seconds_count"] + 1
    assert after["turbine_e2e_request_latency_seconds_count"] == before["turbine_e2e_request_latency_seconds_count"] + 1
    assert after['turbine_kv_blocks{state="free"}'] > 0


def test_256_concurrent_streaming_clients(server):
    expected = {c["prompt"]: complete(server, c["prompt"], 12, ignore_eos=True)["choices"][0]["text"] for c in CASES}
    results, errors = [None] * 256, []

    def client(i):
        prompt = CASES[i % len(CASES)]["prompt"]
        try:
            events = server.stream("/v1/completions", {"prompt": prompt, "max_tokens": 12, "temperature": 0,
                                                       "ignore_eos": True, "stream": True})
            results[i] = (prompt, "".join(e["choices"][0]["text"] for e in events[:-1]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(256)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    for prompt, text in results:
        assert text == expected[prompt]
    server.wait_no_active_blocks()


def test_keep_alive_connection_serves_several_requests(server):
    conn = server.connection()
    try:
        for _ in range(3):
            conn.request("POST", "/v1/completions", body=json.dumps({"prompt": CASES[0]["prompt"], "max_tokens": 3}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["usage"]["completion_tokens"] == 3
    finally:
        conn.close()


def test_1000_streaming_requests_open_at_once(server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    expected = complete(server, CASES[3]["prompt"], 4, ignore_eos=True)["choices"][0]["text"]
    texts, errors = [], []
    barrier = threading.Barrier(1000)

    def client():
        try:
            barrier.wait(timeout=120)
            events = server.stream("/v1/completions", {"prompt": CASES[3]["prompt"], "max_tokens": 4,
                                                       "temperature": 0, "ignore_eos": True, "stream": True})
            texts.append("".join(e["choices"][0]["text"] for e in events[:-1]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, (len(errors), errors[:3])
    assert texts == [expected] * 1000
    server.wait_no_active_blocks()


def test_pipelined_requests_are_answered_in_order(server):
    def raw(prompt):
        data = json.dumps({"prompt": prompt, "max_tokens": 3, "temperature": 0}).encode()
        return (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)

    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(raw(CASES[0]["prompt"]) + raw(CASES[1]["prompt"]) + raw(CASES[2]["prompt"]))
        received = b""
        while received.count(b'"finish_reason"') < 3:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    finally:
        sock.close()
    assert received.count(b"HTTP/1.1 200 OK") == 3
    texts = [json.loads(part[part.index(b"{"):])["choices"][0]["text"]
             for part in received.split(b"HTTP/1.1 200 OK")[1:]]
    assert texts == [complete(server, c["prompt"], 3)["choices"][0]["text"] for c in CASES[:3]]
