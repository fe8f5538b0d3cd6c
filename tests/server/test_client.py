"""`turbine client URL` against a running `turbine serve` on kjv-llama (CPU): piped turns, greedy
replies equal to the server's own answers, /reset, the stateful --session mode, and its errors."""
import socket
import subprocess

import pytest

from server_harness import BIN, Server

TURNS = ["In the beginning", "And God said"]
MAX_TOKENS = 8


@pytest.fixture(scope="module")
def server():
    s = Server("--served-model-name", "kjv")
    yield s
    assert s.stop() == 0


def client(url, lines, *args):
    return subprocess.run([BIN, "client", url, *map(str, args)], input="".join(l + "\n" for l in lines),
                          capture_output=True, text=True, timeout=300)


def url(server):
    return f"http://127.0.0.1:{server.port}"


def chat_reply(server, messages):
    status, _, body = server.post("/v1/chat/completions", {"model": "kjv", "messages": messages, "temperature": 0,
                                                           "max_tokens": MAX_TOKENS})
    assert status == 200, body
    return body["choices"][0]["message"]["content"]


def expected_output(replies):
    # Each reply without its surrounding white space, then a blank line (turbine chat's convention).
    return "".join(r.strip() + "\n\n" for r in replies)


def test_two_turns_equal_the_servers_greedy_answers(server):
    r = client(url(server), TURNS, "--temperature", 0, "--max-tokens", MAX_TOKENS, "--model", "kjv")
    assert r.returncode == 0, r.stderr
    messages, replies = [], []
    for turn in TURNS:
        messages.append({"role": "user", "content": turn})
        reply = chat_reply(server, messages)
        assert reply.strip()
        messages.append({"role": "assistant", "content": reply})
        replies.append(reply)
    assert r.stdout == expected_output(replies)


def test_system_message_is_sent(server):
    system = "You are a scribe."
    r = client(url(server), TURNS[:1], "--temperature", 0, "--max-tokens", MAX_TOKENS, "--system", system)
    assert r.returncode == 0, r.stderr
    reply = chat_reply(server, [{"role": "system", "content": system}, {"role": "user", "content": TURNS[0]}])
    assert r.stdout == expected_output([reply])


def test_reset_starts_a_new_conversation_and_exit_quits(server):
    lines = [TURNS[0], TURNS[1], "/reset", TURNS[1], "/exit", TURNS[0]]
    r = client(url(server), lines, "--temperature", 0, "--max-tokens", MAX_TOKENS)
    assert r.returncode == 0, r.stderr
    first = chat_reply(server, [{"role": "user", "content": TURNS[0]}])
    second = chat_reply(server, [{"role": "user", "content": TURNS[0]}, {"role": "assistant", "content": first},
                                 {"role": "user", "content": TURNS[1]}])
    fresh = chat_reply(server, [{"role": "user", "content": TURNS[1]}])
    # After /reset the turn stands alone; nothing after /exit is sent.
    assert r.stdout == expected_output([first, second, fresh])


def generate(server, prompt, session_id):
    status, _, body = server.post("/generate", {"prompt": prompt, "session_id": session_id, "temperature": 0,
                                                "max_tokens": MAX_TOKENS})
    assert status == 200, body
    return body


def test_session_mode_keeps_the_conversation_on_the_server(server):
    # The same two turns on a session of our own give the client's expected replies and token counts.
    a = generate(server, TURNS[0], 4242)
    b = generate(server, TURNS[1], 4242)
    assert a["history_tokens"] == 0 and b["history_tokens"] == a["input_tokens"] + a["completion_tokens"]
    assert server.post("/generate", {"session_id": 4242, "end_session": True})[0] == 200
    before = server.metrics()["turbine_prompt_tokens_total"]
    r = client(url(server), TURNS, "--session", "--temperature", 0, "--max-tokens", MAX_TOKENS)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected_output([a["text"], b["text"]])
    assert a["text"].strip() and b["text"].strip()
    # The second turn's prompt was the session's history plus only the new text.
    after = server.wait_no_active_blocks()["turbine_prompt_tokens_total"]
    assert after - before == a["input_tokens"] + b["history_tokens"] + b["input_tokens"]


def test_session_reset_ends_the_session_and_starts_another(server):
    a = generate(server, TURNS[0], 4343)
    assert server.post("/generate", {"session_id": 4343, "end_session": True})[0] == 200
    r = client(url(server), [TURNS[0], "/reset", TURNS[0]], "--session", "--temperature", 0,
               "--max-tokens", MAX_TOKENS)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected_output([a["text"], a["text"]])
    # Both sessions were ended: their KV is no longer held.
    server.wait_no_active_blocks()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_an_error():
    r = client(f"http://127.0.0.1:{free_port()}", TURNS)
    assert r.returncode != 0
    assert r.stderr.startswith("error: cannot connect to the server at 127.0.0.1:"), r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("bad, message", [
    ("127.0.0.1:23333", "must start with http://"),
    ("https://127.0.0.1:23333", "https is not supported"),
    ("http://:23333", "has no host"),
    ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:port", "the port must be a number from 1 to 65535"),
])
def test_bad_url_is_an_error(bad, message):
    r = client(bad, TURNS)
    assert r.returncode != 0
    assert r.stderr.startswith("error: ") and message in r.stderr and bad in r.stderr, r.stderr


def test_server_error_message_is_shown(server):
    r = client(url(server), TURNS, "--model", "gpt-4")
    assert r.returncode != 0
    assert r.stderr.startswith("error: server answered 404: ") and "gpt-4" in r.stderr, r.stderr


@pytest.mark.parametrize("session", [False, True])
def test_wrong_api_key_is_an_error(session):
    s = Server("--api-keys", "secret")
    try:
        extra = ["--session"] if session else []
        r = client(url(s), TURNS, "--api-key", "wrong", *extra)
        assert r.returncode != 0
        assert r.stderr == "error: server answered 401: invalid API key\n", r.stderr
        r = client(url(s), TURNS[:1], "--api-key", "secret", "--max-tokens", 2, *extra)
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith("\n\n") and r.stdout.strip()
    finally:
        assert s.stop() == 0
