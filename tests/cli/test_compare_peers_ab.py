"""gpu-sessions/compare_peers.sh's A/B phases with a stand-in for turbine: each switch value in turn, twice,
labelled rows."""
import json
import os
import pathlib
import subprocess

SOURCE = pathlib.Path(os.environ.get("TURBINE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SCRIPT = SOURCE / "gpu-sessions" / "compare_peers.sh"

# Prints one bench row naming the batch it was asked for and the two switches it saw.
FAKE = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --batch ] && batch=$2; shift; done
printf '{"batch": %s, "fused_env": "%s", "tune_env": "%s"}\\n' "$batch" "$TURBINE_CUDA_FUSED" "$TURBINE_CUBLASLT_TUNE"
"""


def run_phase(tmp_path, phase):
    fake = tmp_path / "turbine"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = dict(os.environ, TURBINE_BIN=str(fake), MODEL_DIR=str(tmp_path / "model"))
    for switch in ("TURBINE_CUDA_FUSED", "TURBINE_CUBLASLT_TUNE"):
        env.pop(switch, None)
    out = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out"), phase], capture_output=True, text=True, env=env)
    return out


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tune_ab_alternates_the_switch_at_batch_64(tmp_path):
    out = run_phase(tmp_path, "tune-ab")
    assert out.returncode == 0, out.stderr
    got = rows(tmp_path / "out" / "tune_ab.jsonl")
    assert [(r["tune"], r["round"]) for r in got] == [(0, 1), (1, 1), (0, 2), (1, 2)]
    assert all(r["batch"] == 64 and r["tune_env"] == str(r["tune"]) for r in got)


def test_fused_ab_alternates_the_switch_at_batch_1(tmp_path):
    out = run_phase(tmp_path, "fused-ab")
    assert out.returncode == 0, out.stderr
    got = rows(tmp_path / "out" / "fused_ab.jsonl")
    assert [(r["fused"], r["round"]) for r in got] == [(0, 1), (1, 1), (0, 2), (1, 2)]
    assert all(r["batch"] == 1 and r["fused_env"] == str(r["fused"]) and r["tune_env"] == "" for r in got)


def test_an_unknown_phase_is_refused(tmp_path):
    out = run_phase(tmp_path, "no-such-phase")
    assert out.returncode == 2
    assert "unknown phase no-such-phase" in out.stdout
