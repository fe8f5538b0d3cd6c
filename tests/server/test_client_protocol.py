"""`turbine client` against a scripted stdlib HTTP server: what it sends (X-Session-Id per conversation,
the whole history, Authorization) and how it reads streams cut at any byte, and broken answers."""
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server_harness import BIN


class Fake:
    """Records each request; answers with the events `reply(body)` returns, written one byte per send."""

    def __init__(self, reply):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, dict(self.headers), body))
                status, payload, *ctype = reply(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype[0] if ctype else
                                 "text/event-stream" if status == 200 else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for i in range(len(payload)):
                    self.wfile.write(payload[i:i + 1])
                    self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def sse(*events):
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events).encode()


def chat_chunks(text):
    return [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}] + \
        [{"choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]} for c in text] + \
        [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, "[DONE]"]


def run_client(url, lines, *args):
    return subprocess.run([BIN, "client", url, *args], input="".join(l + "\n" for l in lines),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def fake(request):
    f = Fake(request.param)
    yield f
    f.close()


def numbered_reply(body):
    n = sum(m["role"] == "user" for m in body["messages"])
    return 200, sse(*chat_chunks(f" reply {n} ö\n"))


@pytest.mark.parametrize("fake", [numbered_reply], indirect=True)
def test_history_and_session_header(fake):
    r = run_client(fake.url + "/", ["one", "", "two", "/reset", "three"], "--api-key", "K", "--system", "S",
                   "--temperature", "0.5", "--max-tokens", "7", "--model", "m")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "reply 1 ö\n\nreply 2 ö\n\nreply 1 ö\n\n"
    assert [p for p, _, _ in fake.requests] == ["/v1/chat/completions"] * 3
    ids = [h["X-Session-Id"] for _, h, _ in fake.requests]
    assert ids[0] == ids[1] != ids[2] and all(len(i) == 16 for i in ids)
    assert all(h["Authorization"] == "Bearer K" for _, h, _ in fake.requests)
    second = fake.requests[1][2]
    assert second["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "one"},
                                  {"role": "assistant", "content": " reply 1 ö\n"}, {"role": "user", "content": "two"}]
    assert second["stream"] is True and second["temperature"] == 0.5 and second["max_tokens"] == 7
    assert second["model"] == "m"
    assert fake.requests[2][2]["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "three"}]


def generate_reply(body):
    if body.get("end_session") and "prompt" not in body:
        return 200, b""
    return 200, sse({"text": f"<{body['prompt']}>", "output_ids": [5], "finish_reason": None},
                    {"text": "", "output_ids": [], "finish_reason": "length"}, "[DONE]")


@pytest.mark.parametrize("fake", [generate_reply], indirect=True)
def test_session_mode_sends_only_new_text(fake):
    r = run_client(fake.url, ["one", "two", "/reset", "three"], "--session", "--system", "S")
    assert r.returncode == 0, r.stderr
    # Each session's first turn carries the system text (a new conversation keeps --system).
    assert r.stdout == "<S\none>\n\n<two>\n\n<S\nthree>\n\n"
    bodies = [b for _, _, b in fake.requests]
    assert [b.get("prompt") for b in bodies] == ["S\none", "two", None, "S\nthree", None]
    first, second = bodies[0]["session_id"], bodies[3]["session_id"]
    assert first != second and first >= 0 and second >= 0
    assert all(b["session_id"] == first for b in bodies[:3]) and bodies[4]["session_id"] == second
    assert bodies[2]["end_session"] is True and bodies[4]["end_session"] is True


@pytest.mark.parametrize("fake", [lambda body: (200, sse(*chat_chunks("partial")[:-1]))], indirect=True)
def test_stream_without_done_is_an_error(fake):
    r = run_client(fake.url, ["one"])
    assert r.returncode != 0 and r.stderr == "error: the server's stream ended without [DONE]\n", r.stderr


@pytest.mark.parametrize("fake", [lambda body: (200, sse("not json"))], indirect=True)
def test_event_that_is_not_json_is_an_error(fake):
    r = run_client(fake.url, ["one"])
    assert r.returncode != 0 and r.stderr.startswith("error: the server sent an event that is not a JSON object")


@pytest.mark.parametrize("fake", [lambda body: (200, sse({"error": {"message": "engine failed"}}, "[DONE]"))],
                         indirect=True)
def test_error_event_is_an_error(fake):
    r = run_client(fake.url, ["one"])
    assert r.returncode != 0 and r.stderr == "error: the server reported an error: engine failed\n", r.stderr


@pytest.mark.parametrize("fake", [lambda body: (503, b"busy\n")], indirect=True)
def test_non_json_error_body_is_shown(fake):
    r = run_client(fake.url, ["one"])
    assert r.returncode != 0 and r.stderr == "error: server answered 503: busy\n", r.stderr


@pytest.mark.parametrize("fake", [lambda body: (200, b"<html>hello</html>", "text/html")], indirect=True)
def test_answer_that_is_not_a_stream_is_an_error(fake):
    r = run_client(fake.url, ["one"])
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr == f"error: {fake.url}/v1/chat/completions answered with Content-Type 'text/html', not an " \
        f"event stream: is {fake.url} a turbine serve?\n", r.stderr


def test_silent_server_times_out():
    # A socket that accepts connections (the kernel's backlog) but never answers.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        r = run_client(url, ["one"], "--timeout", "1")
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr == f"error: no answer from the server at {url[7:]}: nothing arrived within 1 s (--timeout)\n", \
        r.stderr


def failing_second_turn(body):
    if "prompt" not in body:
        return 200, b'{"ended": true}', "application/json"
    if body["prompt"] == "two":
        return 400, json.dumps({"error": {"message": "session 1 is occupied by a running request"}}).encode()
    return generate_reply(body)


@pytest.mark.parametrize("fake", [failing_second_turn], indirect=True)
def test_session_is_ended_when_a_turn_fails(fake):
    r = run_client(fake.url, ["one", "two", "three"], "--session")
    assert r.returncode != 0 and r.stdout == "<one>\n\n"
    assert r.stderr == "error: server answered 400: session 1 is occupied by a running request\n", r.stderr
    bodies = [b for _, _, b in fake.requests]
    assert [b.get("prompt") for b in bodies] == ["one", "two", None]
    assert bodies[2]["end_session"] is True and bodies[2]["session_id"] == bodies[0]["session_id"]


@pytest.mark.parametrize("fake", [numbered_reply], indirect=True)
def test_terminal_shows_a_prompt(fake):
    import os
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BIN, [BIN, "client", fake.url])
    seen = b""

    def read_until(text):
        nonlocal seen
        deadline = time.monotonic() + 30
        while text not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([fd], [], [], 1)[0]:
                seen += os.read(fd, 4096)

    read_until(b"> ")
    os.write(fd, b"one\n")
    read_until(b"reply 1 \xc3\xb6\r\n\r\n> ")
    os.write(fd, b"\x04")  # Ctrl-D at the prompt quits
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, seen


@pytest.mark.parametrize("fake", [failing_second_turn], indirect=True)
def test_session_is_ended_when_the_first_turn_fails(fake):
    r = run_client(fake.url, ["two"], "--session")
    assert r.returncode != 0 and r.stdout == ""
    bodies = [b for _, _, b in fake.requests]
    assert [b.get("prompt") for b in bodies] == ["two", None] and bodies[1]["end_session"] is True
