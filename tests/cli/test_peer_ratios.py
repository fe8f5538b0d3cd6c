"""gpu-sessions/peer_ratios.py on hand-made peer outputs: ratios against issue 5's targets, near misses kept."""
import json
import os
import pathlib
import subprocess
import sys

SOURCE = pathlib.Path(os.environ.get("TURBINE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SCRIPT = SOURCE / "gpu-sessions" / "peer_ratios.py"


def run(out_dir):
    out = subprocess.run([sys.executable, str(SCRIPT), str(out_dir)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in out.stdout.splitlines()[2:]}


def test_ratios_name_each_target_and_a_near_miss_stays_a_miss(tmp_path):
    rows = [{"batch": 1, "decode_throughput": 208.4}, {"batch": 16, "decode_throughput": 2800.0},
            {"batch": 64, "decode_throughput": 7000.0}]
    (tmp_path / "turbine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "turbine_prefill.jsonl").write_text(
        json.dumps({"batch": 1, "first_token_latency_ms": {"p50": 40.0}}) + "\n")
    (tmp_path / "llamacpp_batched.md").write_text(
        "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n"
        "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|\n"
        "|   128 |    256 |    1 |    384 |    0.106 |  1205.49 |    1.426 |   177.36 |    1.532 |   250.62 |\n"
        "|   128 |    256 |   16 |   6144 |    0.130 | 15783.84 |    2.105 |  2000.00 |    2.235 |  2749.52 |\n"
        "|   128 |    256 |   64 |  24576 |    0.446 | 18351.79 |    3.527 |  4375.00 |    3.973 |  6185.39 |\n")
    (tmp_path / "llamacpp_bench.md").write_text(
        "| llama 7B F16 | 12.55 GiB | 6.74 B | CUDA | 99 | 1 | pp2048 | 16000.00 ± 1 |\n")
    table = run(tmp_path)
    # 208.4 / 177.36 = 1.1750: printed as such, and a miss of 1.18 (two decimals would show 1.18).
    assert table["decode tok/s, batch 1"][4:6] == ["1.175", "1.18 miss"]
    assert table["decode tok/s, batch 16"][4:6] == ["1.400", "1.4 pass"]
    assert table["decode tok/s, batch 64"][4:6] == ["1.600", "1.6 pass"]
    # llama.cpp's pp2048 at 16,000 t/s is 128 ms: 3.2x the 40 ms turbine took.
    assert table["prefill 2048 tokens, ms"][1:3] == ["40.0", "128.0"]
    assert table["prefill 2048 tokens, ms"][4:6] == ["3.200", "3.0 pass (speed)"]


def test_missing_outputs_leave_dashes(tmp_path):
    table = run(tmp_path)
    assert table["decode tok/s, batch 16"][1:6] == ["-", "-", "- (end to end)", "-", "1.4"]
