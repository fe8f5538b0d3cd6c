"""deploy/nginx/turbine.conf as shipped (only its ports replaced), run by Debian's nginx on loopback in
front of two `turbine serve` replicas (kjv-llama, CPU): sessionless requests spread over both, the
requests of one X-Session-Id stay on one replica (a /generate session keeps its history), and with a
replica stopped requests still succeed."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server_harness import Server

SOURCE = Path(os.environ.get("TURBINE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SHIPPED_CONF = SOURCE / "deploy" / "nginx" / "turbine.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
# The replica addresses and the listen port as deploy/nginx/turbine.conf ships them.
SHIPPED_REPLICAS = ("127.0.0.1:23333", "127.0.0.1:23334")
SHIPPED_LISTEN = "listen 8080;"

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/install-deps.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conf_with_ports(replica_ports, listen_port):
    """The shipped file with the test's ports in place of the shipped ones (and nothing else changed)."""
    text = SHIPPED_CONF.read_text()
    assert text.count(SHIPPED_LISTEN) == 1, "the shipped conf must have one 'listen 8080;'"
    text = text.replace(SHIPPED_LISTEN, f"listen 127.0.0.1:{listen_port};")
    for shipped, port in zip(SHIPPED_REPLICAS, replica_ports):
        # Each replica is named once in each of the two upstream groups.
        assert text.count(f"server {shipped} ") == 2, shipped
        text = text.replace(f"server {shipped} ", f"server 127.0.0.1:{port} ")
    return text


class Nginx:
    """nginx in the foreground with its pid, logs and temp files in a directory of its own."""

    def __init__(self, replica_ports):
        self.dir = Path(tempfile.mkdtemp(prefix="turbine-nginx-"))
        # Run as root, nginx's workers become "nobody": they must be able to enter this directory.
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        (self.dir / "turbine.conf").write_text(conf_with_ports(replica_ports, self.port))
        d = self.dir
        (d / "nginx.conf").write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/turbine.conf;
}}
""")
        check = subprocess.run([NGINX, "-t", "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf")],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None, self.error_log()
                assert time.time() < deadline, "nginx did not start listening"
                time.sleep(0.05)

    def error_log(self):
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    replicas, proxy = [], None
    try:
        for _ in range(2):
            replicas.append(Server())  # one at a time: a second that fails to start leaves the first to stop
        proxy = Nginx([r.port for r in replicas])
        yield proxy, replicas
    finally:
        if proxy:
            print(proxy.error_log())
            proxy.stop()
        for r in replicas:
            r.stop()


def complete(proxy, headers=None, prompt="In the beginning"):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=120)
    try:
        body = {"prompt": prompt, "max_tokens": 4, "temperature": 0}
        conn.request("POST", "/v1/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def stream(proxy, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=120)
    try:
        body = {"prompt": "And God said", "max_tokens": 6, "temperature": 0, "stream": True}
        conn.request("POST", "/v1/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


def served(replica):
    """Engine requests the replica has finished (its /metrics, asked directly)."""
    return sum(v for k, v in replica.metrics().items() if k.startswith("turbine_requests_total{"))


def test_sessionless_requests_spread_over_both_replicas(cluster):
    proxy, replicas = cluster
    before = [served(r) for r in replicas]
    for _ in range(8):
        status, body = complete(proxy)
        assert status == 200, body
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: complete(proxy), range(12)))
    assert all(status == 200 for status, _ in results), results
    status, ctype, text = stream(proxy)
    assert status == 200 and ctype.startswith("text/event-stream") and text.rstrip().endswith("data: [DONE]")
    counts = [served(r) - b for r, b in zip(replicas, before)]
    assert sum(counts) == 21, counts
    assert min(counts) >= 3, f"least_conn should spread 21 requests over both replicas, got {counts}"


def test_one_session_stays_on_one_replica(cluster):
    proxy, replicas = cluster
    for session in ("conversation-1", "conversation-2", "7f3c9a"):
        before = [served(r) for r in replicas]
        for i in range(4):
            status, body = complete(proxy, {"X-Session-Id": session}, prompt=f"In the beginning {i}")
            assert status == 200, body
        status, _, _ = stream(proxy, {"X-Session-Id": session})
        assert status == 200
        counts = sorted(served(r) - b for r, b in zip(replicas, before))
        assert counts == [0, 5], f"session {session}: its requests went to {counts}"


def generate(proxy, body, session_header):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=120)
    try:
        conn.request("POST", "/generate", body=json.dumps(body),
                     headers={"Content-Type": "application/json", "X-Session-Id": session_header})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_a_generate_session_keeps_its_history_across_turns(cluster):
    proxy, _ = cluster
    for session_id in range(101, 109):
        header = f"{session_id:016x}"  # what `turbine client --session` sends
        turn = {"session_id": session_id, "max_tokens": 3, "temperature": 0}
        status, first = generate(proxy, {**turn, "prompt": "In the beginning"}, header)
        assert status == 200, first
        status, second = generate(proxy, {**turn, "prompt": " and the earth", "end_session": True}, header)
        assert status == 200, second
        # The second turn found the first one's conversation: it reached the same replica.
        assert second["history_tokens"] == first["input_tokens"] + first["completion_tokens"], (first, second)


def test_requests_still_succeed_with_a_replica_stopped(cluster):
    proxy, replicas = cluster
    survivor = replicas[0]
    assert replicas[1].stop() == 0
    before = served(survivor)
    for _ in range(6):
        status, body = complete(proxy)
        assert status == 200, body
    # A session whose hash picked the stopped replica moves to the one left.
    for session in ("conversation-1", "conversation-2", "7f3c9a"):
        status, body = complete(proxy, {"X-Session-Id": session})
        assert status == 200, body
    assert served(survivor) - before == 9
    assert re.search(r"connect\(\) failed|upstream", proxy.error_log()), proxy.error_log()


def test_bench_serve_through_nginx_sees_tokens_as_they_are_made(cluster):
    # Any replica left will do. The first token reaches the client long before the last.
    proxy, _ = cluster
    r = subprocess.run([os.environ.get("TURBINE_BIN", "build/turbine"), "bench", "serve",
                        f"http://127.0.0.1:{proxy.port}", "--requests", "4", "--input-len-range", "4:8",
                        "--output-len-range", "96:96", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["completed"] == 4 and row["output_tokens"] == 4 * 96
    assert row["ttft_ms_p90"] < row["e2e_ms_p50"] / 3, row
