"""The web chat UI served by `turbine serve`: the page and its files (embedded in the binary), their
content types and caching, 404 for other paths, no key needed for the page under --api-keys, and the
request the page sends (streamed chat with usage, session id header and field) accepted by the server."""
import os
import re
from pathlib import Path

import pytest

from server_harness import Server


@pytest.fixture(scope="module")
def server():
    s = Server("--max-batch-size", "2")
    yield s
    assert s.stop() == 0


def get(server, path, headers=None):
    conn = server.connection()
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def element_ids(html):
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_index_page_has_the_controls(server):
    for path in ("/", "/index.html"):
        status, headers, html = get(server, path)
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert headers["cache-control"] == "no-cache"
        assert html.lstrip().lower().startswith("<!doctype html>")
        ids = element_ids(html)
        for control in ("message-input", "send-button", "stop-button", "new-chat", "system-prompt",
                        "temperature", "top-p", "max-tokens", "api-key", "messages"):
            assert control in ids, control
        # Every input has a label.
        for control in ("message-input", "system-prompt", "temperature", "top-p", "max-tokens", "api-key"):
            assert f'for="{control}"' in html, control
        assert '<script src="/app.js">' in html and 'href="/style.css"' in html


def test_page_loads_nothing_from_outside(server):
    for path in ("/", "/app.js", "/style.css"):
        body = get(server, path)[2]
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", body, re.I), path


@pytest.mark.parametrize("path,ctype,marker", [
    ("/app.js", "text/javascript", "/v1/chat/completions"),
    ("/style.css", "text/css", ".message"),
])
def test_static_files_have_their_content_types(server, path, ctype, marker):
    status, headers, body = get(server, path)
    assert status == 200
    assert headers["content-type"].startswith(ctype)
    assert headers["cache-control"] == "no-cache"
    assert int(headers["content-length"]) == len(body.encode())
    assert marker in body


def test_served_files_equal_the_sources(server):
    # The build embeds src/server/webui/ byte for byte (and re-embeds a file when it changes).
    source = Path(os.environ.get("TURBINE_SOURCE_DIR", Path(__file__).resolve().parents[2])) / "src/server/webui"
    for name in ("index.html", "app.js", "style.css"):
        assert get(server, "/" + name)[2] == (source / name).read_text(encoding="utf-8"), name


def test_script_speaks_the_streaming_protocol(server):
    js = get(server, "/app.js")[2]
    for needle in ("AbortController", "getReader", "data:", "[DONE]", "X-Session-Id", "Authorization",
                   "stream: true", "include_usage", "tokens/s"):
        assert needle in js, needle


@pytest.mark.parametrize("path", ["/index.htm", "/app.js.map", "/favicon.ico", "/webui/app.js", "/../app.js",
                                  "/style.css/x"])
def test_unknown_static_paths_are_404(server, path):
    status, headers, body = get(server, path)
    assert status == 404, body
    assert headers["content-type"].startswith("application/json")


def test_page_is_get_only(server):
    status, _, body = server.request("POST", "/", {"x": 1})
    assert status == 405, body


def test_query_string_is_ignored(server):
    status, headers, _ = get(server, "/?session=1")
    assert status == 200 and headers["content-type"].startswith("text/html")


def test_the_pages_request_is_accepted(server):
    # The body app.js builds for a two-turn conversation with a system prompt.
    body = {
        "messages": [{"role": "system", "content": "Answer briefly."},
                     {"role": "user", "content": "Who created the heaven?"},
                     {"role": "assistant", "content": "God."},
                     {"role": "user", "content": "And the earth?"}],
        "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.7, "top_p": 0.95,
        "max_tokens": 8, "session_id": "webui-test-1",
    }
    events = server.stream("/v1/chat/completions", body, headers={"X-Session-Id": "webui-test-1"})
    assert events[-1] == "[DONE]"
    usage = [e["usage"] for e in events[:-1] if e.get("usage")]
    assert usage and 0 < usage[-1]["completion_tokens"] <= 8
    text = "".join(c["delta"].get("content", "") for e in events[:-1] for c in e.get("choices", []))
    assert text


def test_page_needs_no_key_but_the_api_does():
    s = Server("--api-keys", "secret")
    try:
        for path in ("/", "/app.js", "/style.css"):
            assert get(s, path)[0] == 200, path
        assert get(s, "/v1/models")[0] == 401
        assert get(s, "/v1/models", {"Authorization": "Bearer secret"})[0] == 200
    finally:
        assert s.stop() == 0
