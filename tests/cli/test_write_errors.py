"""Every command checks its standard output: a full disk (/dev/full) or a closed pipe is an
`error: cannot write to standard output: ...` and a non-zero exit, never a silent success."""
import json
import signal
import subprocess
import time

import pytest

from turbine_cli import BIN, MODEL, assert_user_error

CPU = ["--device", "cpu"]


def commands(tmp_path):
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("In the beginning\nAnd God said\n")
    return {
        "tokenize": ["tokenize", MODEL, "In the beginning"],
        "detokenize": ["detokenize", MODEL, "512", "278"],
        "template": ["template", MODEL, "--messages", messages],
        "perplexity": ["perplexity", MODEL, MODEL / "kjv_eval.txt", *CPU],
        "generate": ["generate", MODEL, "--prompt", "In the beginning", "--max-new-tokens", "4", *CPU],
        "generate-prompts-file": ["generate", MODEL, "--prompts-file", prompts, "--max-new-tokens", "4", *CPU],
        "chat": ["chat", MODEL, "--max-new-tokens", "4", *CPU],
        "bench-generate": ["bench", "generate", MODEL, "--batch", "1", "--input-len", "4", "--output-len", "2",
                           "--warmup", "0", *CPU],
        "bench-generate-json": ["bench", "generate", MODEL, "--batch", "1", "--input-len", "4", "--output-len", "2",
                                "--warmup", "0", "--json", *CPU],
        "bench-throughput": ["bench", "throughput", MODEL, "--requests", "2", "--input-len-range", "4:8",
                             "--output-len-range", "2:4", *CPU],
        "bench-throughput-json": ["bench", "throughput", MODEL, "--requests", "2", "--input-len-range", "4:8",
                                  "--output-len-range", "2:4", "--json", *CPU],
    }


NAMES = list(commands(__import__("pathlib").Path("/")).keys())


@pytest.mark.parametrize("name", NAMES)
def test_full_disk_is_an_error(tmp_path, name):
    args = commands(tmp_path)[name]
    with open("/dev/full", "wb") as full:
        result = subprocess.run([BIN, *map(str, args)], input=b"hello\n", stdout=full, stderr=subprocess.PIPE,
                                timeout=300)
    if name.startswith("bench"):
        # The benchmarks log their progress to stderr first; the error is the last line.
        assert result.returncode > 0, result.stderr
        line = result.stderr.decode().strip().splitlines()[-1]
        assert line.startswith("error: cannot write to standard output: "), line
    else:
        line = assert_user_error(result, "cannot write to standard output")
    assert "No space left on device" in line


def restore_sigpipe_ignored():
    # As a shell or a server that ignores SIGPIPE leaves it: writes to a closed pipe fail with EPIPE.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def test_closed_pipe_stops_generation():
    # Without the check, this runs all 2000 tokens (~20x longer than its first bytes take).
    args = [BIN, "generate", MODEL, "--prompt", "In the beginning", "--max-new-tokens", "2000",
            "--session-len", "2048", "--ignore-eos", *CPU]
    start = time.monotonic()
    proc = subprocess.Popen(list(map(str, args)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=restore_sigpipe_ignored)
    first = proc.stdout.read(5)
    first_bytes = time.monotonic() - start
    proc.stdout.close()  # the reader goes away, as `| head -c 5` does
    try:
        stderr = proc.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    after_close = time.monotonic() - start - first_bytes
    assert len(first) == 5
    assert proc.returncode > 0, stderr
    lines = stderr.decode().strip().splitlines()
    assert lines == ["error: cannot write to standard output: Broken pipe"], lines
    # Generation stops at the next token; allow generous slack for a loaded machine.
    assert after_close < max(5.0, first_bytes), (after_close, first_bytes)


def test_closed_pipe_stops_chat():
    # Twenty turns to answer; the reader leaves after the first five bytes. chat stops there, so the
    # --stats line (printed after the last turn) never comes.
    args = [BIN, "chat", MODEL, "--max-new-tokens", "64", "--ignore-eos", "--stats", *CPU]
    proc = subprocess.Popen(list(map(str, args)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=restore_sigpipe_ignored)
    proc.stdin.write(b"And God said\n" * 20)
    proc.stdin.close()
    first = proc.stdout.read(5)
    proc.stdout.close()
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    stderr = proc.stderr.read()
    assert len(first) == 5
    assert proc.returncode > 0, stderr
    assert stderr.decode().strip().splitlines() == ["error: cannot write to standard output: Broken pipe"]
