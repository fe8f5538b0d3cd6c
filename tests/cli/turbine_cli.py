"""Helpers shared by the command-line tests: where things are and how to run the binary."""
import json
import os
import subprocess
from pathlib import Path

BIN = os.environ.get("TURBINE_BIN", "build/turbine")
SHARED = Path(os.environ.get("TURBINE_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MODEL = SHARED / "models" / "kjv-llama"


def golden():
    with open(SHARED / "golden" / "golden.json", encoding="utf-8") as f:
        return json.load(f)


def run(*args, stdin=None, timeout=120):
    return subprocess.run([BIN, *map(str, args)], input=stdin, capture_output=True, timeout=timeout)


def assert_user_error(result, *must_mention):
    """A user error: exit status > 0 (not a signal), one `error: ...` line naming what is at fault."""
    assert result.returncode > 0, f"expected a clean failure, got {result.returncode}: {result.stderr!r}"
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in must_mention:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


def generate(*args):
    """stdout of `turbine generate MODEL --device cpu ARGS` without its final newline."""
    result = run("generate", MODEL, "--device", "cpu", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(b"\n")
    return result.stdout[:-1]


def detokenize(ids):
    result = run("detokenize", MODEL, *ids)
    assert result.returncode == 0, result.stderr
    return result.stdout[:-1]
