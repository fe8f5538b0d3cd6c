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


BATCHED_HEADER = "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n" \
                 "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|\n"


def batched_row(batch, tg):
    return f"|   128 |    256 | {batch:4d} |    384 |    0.131 |   976.78 |    1.441 | {tg:8.2f} |    1.572 |   244.22 |\n"


def write_turbine_rows(out, name, tok_s):
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_text("".join(json.dumps({"batch": b, "decode_throughput": v}) + "\n" for b, v in tok_s.items()))


def test_awq_table_takes_batch_1_from_the_q4km_only_file(tmp_path):
    out = tmp_path / "out"
    write_turbine_rows(out, "turbine.jsonl", {1: 200.0, 16: 2000.0, 64: 6000.0})
    write_turbine_rows(out, "turbine_awq.jsonl", {1: 400.0, 16: 3000.0, 64: 6600.0})
    # llamacpp-q4's file holds Q4_K_M rows alone.
    (out / "llamacpp_q4km_batched.md").write_text(BATCHED_HEADER + batched_row(1, 250.0) + batched_row(16, 2400.0))
    got = run_phase(tmp_path, "awq-table")
    assert got.returncode == 0, got.stderr
    table = (out / "awq_ratios.md").read_text()
    assert "| decode tok/s, batch 1 | 400.0 | 200.0 | 250.0 | 1.600 | llama.cpp Q4_K_M | 2.0 miss |" in table
    assert "| decode tok/s, batch 16 | 3000.0 | 2000.0 | 2400.0 | 1.500 | turbine fp16 | 2.0 miss |" in table
    assert "| decode tok/s, batch 64 | 6600.0 | 6000.0 | - | 1.100 | turbine fp16 | 1.3 miss |" in table


def test_awq_table_reads_q4km_as_the_second_row_of_the_llamacpp_phase_file(tmp_path):
    out = tmp_path / "out"
    write_turbine_rows(out, "turbine.jsonl", {1: 200.0})
    write_turbine_rows(out, "turbine_awq.jsonl", {1: 600.0})
    # The llamacpp phase with LLAMACPP_QUANT=1: the f16 rows, then the Q4_K_M ones.
    (out / "llamacpp_batched.md").write_text(BATCHED_HEADER + batched_row(1, 180.0) + BATCHED_HEADER + batched_row(1, 300.0))
    got = run_phase(tmp_path, "awq-table")
    assert got.returncode == 0, got.stderr
    assert "| decode tok/s, batch 1 | 600.0 | 200.0 | 300.0 | 2.000 | llama.cpp Q4_K_M | 2.0 pass |" in \
        (out / "awq_ratios.md").read_text()


def test_llamacpp_q4_without_a_conversion_says_so(tmp_path):
    got = run_phase(tmp_path, "llamacpp-q4")
    assert got.returncode == 1
    assert "convert-peer first" in got.stdout
