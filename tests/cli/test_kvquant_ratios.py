"""gpu-sessions/kvquant_ratios.py on hand-made bench throughput outputs: ratios to the unquantized run
against issue 19's targets, near misses kept, missing runs left as dashes."""
import json
import os
import pathlib
import subprocess
import sys

SOURCE = pathlib.Path(os.environ.get("TURBINE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SCRIPT = SOURCE / "gpu-sessions" / "kvquant_ratios.py"


def run(out_dir):
    out = subprocess.run([sys.executable, str(SCRIPT), str(out_dir)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in out.stdout.splitlines()[2:]}


def test_ratios_against_the_targets(tmp_path):
    for kv, rps, blocks in (("none", 10.0, 1000), ("int8", 12.49, 1939), ("int4", 15.2, 3760), ("fp8", 12.0, 1969)):
        (tmp_path / f"kvquant_{kv}.json").write_text(
            json.dumps({"request_throughput": rps, "kv_blocks": blocks, "kv_quant": kv}) + "\n")
    table = run(tmp_path)
    assert table["none"][1:5] == ["10.000", "1000", "1.000", "-"]
    assert table["int8"][3:5] == ["1.249", "1.25 miss"]  # not rounded up to its target
    assert table["int4"][2:5] == ["3760", "1.520", "1.5 pass"]
    assert table["fp8"][3:5] == ["1.200", "-"]


def test_missing_runs_leave_dashes(tmp_path):
    (tmp_path / "kvquant_none.json").write_text(json.dumps({"request_throughput": 10.0, "kv_blocks": 5}) + "\n")
    table = run(tmp_path)
    assert table["int4"][1:6] == ["-", "-", "-", "1.5", "-"]
    assert table["none"][5] == "-"  # a run without the batch fields


def test_the_batch_each_run_carried(tmp_path):
    for kv, batch in (("none", 97.25), ("int4", 128.0)):
        (tmp_path / f"kvquant_{kv}.json").write_text(
            json.dumps({"request_throughput": 10.0, "kv_blocks": 5, "mean_batch": batch, "max_batch": 128}) + "\n")
    table = run(tmp_path)
    assert table["none"][5] == "97.2 / 128" and table["int4"][5] == "128.0 / 128"
