"""`turbine bench serve URL` against `turbine serve` on kjv-llama (CPU): its JSON row, the same workload
as `bench throughput` for the same arguments, the three endpoints, and its errors (one line, no hang)."""
import http.server
import json
import resource
import socket
import subprocess
import threading

import pytest

from server_harness import BIN, MODEL, Server

SHAPE = ["--requests", "16", "--input-len-range", "4:24", "--output-len-range", "4:8"]
WORKLOAD = [*SHAPE, "--seed", "5"]


@pytest.fixture(scope="module")
def server():
    s = Server("--served-model-name", "kjv")
    yield s
    assert s.stop() == 0


def url(server):
    return f"http://127.0.0.1:{server.port}"


def turbine(*args, timeout=300):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def bench_serve(server, *args):
    r = turbine("bench", "serve", url(server), *args)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    return json.loads(lines[0])


def assert_user_error(r, *words):
    assert r.returncode > 0, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for w in words:
        assert w in lines[0], lines[0]


def assert_ordered(row, name):
    assert 0 <= row[f"{name}_ms_p50"] <= row[f"{name}_ms_p90"] <= row[f"{name}_ms_p99"], row
    assert row[f"{name}_ms_mean"] >= 0


def test_json_row_counts_every_token_of_the_workload(server):
    row = bench_serve(server, *WORKLOAD, "--concurrency", 8, "--json")
    assert row["requests"] == 16 and row["completed"] == 16 and row["failed"] == 0
    assert row["concurrency"] == 8
    # The same arguments through the engine directly draw the same requests (EOS ignored: every output
    # length is generated in full).
    direct = turbine("bench", "throughput", MODEL, *WORKLOAD, "--json", "--device", "cpu", "--threads", "2")
    assert direct.returncode == 0, direct.stderr
    expected = json.loads(direct.stdout)
    assert row["input_tokens"] == expected["input_tokens"]
    assert row["output_tokens"] == expected["output_tokens"]
    assert 16 * 4 <= row["output_tokens"] <= 16 * 8
    for name in ("ttft", "itl", "e2e"):
        assert_ordered(row, name)
    assert row["ttft_ms_p50"] <= row["e2e_ms_p50"]
    assert row["request_throughput"] > 0 and row["output_throughput"] > 0
    assert row["total_throughput"] == pytest.approx(row["input_throughput"] + row["output_throughput"])


def test_the_seed_draws_the_workload(server):
    a = bench_serve(server, *SHAPE, "--seed", 6, "--json")
    b = bench_serve(server, *SHAPE, "--seed", 6, "--json")
    assert (a["input_tokens"], a["output_tokens"]) == (b["input_tokens"], b["output_tokens"])
    c = bench_serve(server, *SHAPE, "--seed", 7, "--json")
    assert (a["input_tokens"], a["output_tokens"]) != (c["input_tokens"], c["output_tokens"])


def test_rate_and_table(server):
    r = turbine("bench", "serve", url(server), "--requests", 6, "--rate", 50, "--input-len-range", "4:8",
                "--output-len-range", "2:4")
    assert r.returncode == 0, r.stderr
    for label in ("requests/s", "output tokens/s", "first token (TTFT)", "inter-token (ITL)", "end to end (E2E)",
                  "Poisson, 50"):
        assert label in r.stdout, r.stdout
    assert "6 (0 failed)" in r.stdout


@pytest.mark.parametrize("endpoint", ["generate", "chat"])
def test_other_endpoints(server, endpoint):
    row = bench_serve(server, "--requests", 4, "--input-len-range", "4:8", "--output-len-range", "3:3",
                      "--endpoint", endpoint, "--tokenizer", MODEL, "--json")
    assert row["completed"] == 4 and row["output_tokens"] == 12
    assert_ordered(row, "itl")


def test_failed_requests_are_counted_not_fatal_until_all_fail(server):
    # The server refuses a model it does not serve: every request fails, which is an error.
    r = turbine("bench", "serve", url(server), "--requests", 3, "--input-len-range", "4:8", "--output-len-range",
                "2:2", "--model", "nope", timeout=60)
    assert_user_error(r, "all 3 requests failed", "404")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args,words", [
    (["--rate", "-1"], ["--rate"]),
    (["--rate", "nan"], ["--rate"]),
    (["--concurrency", "0"], ["--concurrency"]),
    (["--input-len-range", "9:3"], ["--input-len-range"]),
    (["--input-len-range", "2000:2000"], ["context"]),
    (["--endpoint", "embeddings"], ["--endpoint"]),
    (["--endpoint", "chat"], ["--tokenizer"]),
])
def test_bad_arguments_are_one_line_errors(server, args, words):
    assert_user_error(turbine("bench", "serve", url(server), "--requests", 2, *args, timeout=60), *words)


def test_unreachable_or_bad_url_is_a_one_line_error():
    assert_user_error(turbine("bench", "serve", f"http://127.0.0.1:{free_port()}", "--requests", 2, timeout=60),
                      "cannot connect")
    assert_user_error(turbine("bench", "serve", "https://127.0.0.1:1", timeout=60), "https")


def test_the_servers_engine_counters_come_from_its_metrics(server):
    before = server.metrics()["turbine_engine_steps_total"]
    row = bench_serve(server, "--requests", 3, "--input-len-range", "4:8", "--output-len-range", "5:5", "--json")
    steps = server.metrics()["turbine_engine_steps_total"] - before
    # At least one step per generated token of the longest request; no more than the server ran.
    assert 5 <= row["steps"] <= steps
    assert row["preemptions"] == 0 and row["kv_blocks"] > 0


def test_refused_requests_are_counted_and_the_rest_reported():
    # One running request and no queue: of 6 sent at once, the server refuses some with 429. Its API key
    # goes with every request (without it, the model list is refused).
    small = Server("--max-batch-size", 1, "--max-queue", 0, "--api-keys", "sekret")
    try:
        r = turbine("bench", "serve", url(small), "--requests", 6, "--input-len-range", "4:8", "--output-len-range",
                    "16:16", "--json", "--api-key", "sekret")
        no_key = turbine("bench", "serve", url(small), "--requests", 2, timeout=60)
    finally:
        assert small.stop() == 0
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["failed"] > 0 and row["completed"] > 0 and row["completed"] + row["failed"] == 6
    assert row["output_tokens"] == 16 * row["completed"]
    assert "requests failed; the first: HTTP 429" in r.stderr
    assert_user_error(no_key, "/v1/models answered 401")


class SilentHandler(http.server.BaseHTTPRequestHandler):
    """Lists a model, then answers no generation request at all."""

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "m", "vocab_size": 100}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.server.stop.wait(30)

    def log_message(self, *args):
        pass


def test_a_silent_server_ends_in_a_timeout_error_not_a_hang():
    silent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SilentHandler)
    silent.daemon_threads = True
    silent.stop = threading.Event()
    threading.Thread(target=silent.serve_forever, daemon=True).start()
    try:
        r = turbine("bench", "serve", f"http://127.0.0.1:{silent.server_port}", "--requests", 2,
                    "--input-len-range", "4:8", "--output-len-range", "2:2", "--timeout", 1, timeout=30)
    finally:
        silent.stop.set()
        silent.shutdown()
    assert_user_error(r, "all 2 requests failed", "within 1 s", "--timeout")


def test_a_thousand_requests_at_once_past_a_low_soft_file_limit(server):
    # bench serve raises its soft open-file limit to the hard one: 1,000 connections need more than 256.
    def low_soft_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    r = subprocess.run([BIN, "bench", "serve", url(server), "--requests", "1000", "--concurrency", "1000",
                        "--input-len-range", "2:6", "--output-len-range", "1:2", "--json"],
                       capture_output=True, text=True, timeout=600, preexec_fn=low_soft_limit)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["completed"] == 1000 and row["failed"] == 0, r.stderr
    assert 1000 <= row["output_tokens"] <= 2000
