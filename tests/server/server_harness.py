"""Starts `turbine serve` on a free loopback port for a test module and talks to it (stdlib only)."""
import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

BIN = os.environ.get("TURBINE_BIN", "build/turbine")
SHARED = Path(os.environ.get("TURBINE_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MODEL = SHARED / "models" / "kjv-llama"


def golden():
    with open(SHARED / "golden" / "golden.json", encoding="utf-8") as f:
        return json.load(f)


class Server:
    """A running `turbine serve`; stop() sends SIGTERM and returns the exit status."""

    def __init__(self, *args, model=MODEL):
        # stderr goes to a file (kept for a failing test's report) that is polled for the port.
        self.log = tempfile.NamedTemporaryFile(prefix="turbine-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [BIN, "serve", str(model), "--device", "cpu", "--port", "0", *map(str, args)],
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = None
        deadline = time.time() + 60
        while self.port is None:
            m = re.search(r"listening on http://[0-9.]+:(\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError(f"turbine serve exited with {self.proc.returncode}: {self.stderr()}")
            elif time.time() > deadline:
                raise RuntimeError("turbine serve did not start")
            else:
                time.sleep(0.05)
        while self.request("GET", "/health")[0] != 200:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("turbine serve did not become healthy")
            time.sleep(0.1)

    def stderr(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def connection(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None):
        """(status, headers dict, parsed JSON or text)."""
        conn = self.connection()
        try:
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            ctype = resp.getheader("Content-Type", "")
            parsed = json.loads(payload) if "json" in ctype and payload else payload.decode()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
        finally:
            conn.close()

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def stream(self, path, body, headers=None):
        """The parsed `data:` events of a streamed response, ending with the string "[DONE]"."""
        conn = self.connection()
        try:
            conn.request("POST", path, body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()
            assert resp.getheader("Content-Type").startswith("text/event-stream")
            return parse_sse(resp.read().decode())
        finally:
            conn.close()

    def metrics(self):
        status, _, text = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def wait_no_active_blocks(self, timeout=30):
        deadline = time.time() + timeout
        while True:
            m = self.metrics()
            if m['turbine_kv_blocks{state="active"}'] == 0 and m["turbine_requests_running"] == 0 \
                    and m["turbine_requests_queued"] == 0:
                return m
            assert time.time() < deadline, m
            time.sleep(0.05)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=timeout)
        self.log.close()
        if status != 0:
            print(self.stderr())
        return status


def parse_sse(text):
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: "):]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events
