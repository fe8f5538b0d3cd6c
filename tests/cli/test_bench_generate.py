"""`turbine bench generate` on the CPU with tiny sizes: the table, the JSON rows and flag errors."""
import json

from turbine_cli import MODEL, assert_user_error, run

SMALL = ["--device", "cpu", "--input-len", "6", "--output-len", "4", "--warmup", "0"]


def test_json_rows_follow_the_definitions():
    r = run("bench", "generate", MODEL, "--batch", "1,3", "--json", "--rounds", "2", *SMALL)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [row["batch"] for row in rows] == [1, 3]
    for row in rows:
        assert row["input_len"] == 6 and row["output_len"] == 4 and row["dtype"] == "float32"
        assert row["decode_throughput"] > 0 and row["end_to_end_throughput"] > 0
        # Decode excludes the prefill, so it is never below the end-to-end figure per generated token.
        assert row["decode_throughput"] * 4 / 3 >= row["end_to_end_throughput"]
        for key in ("first_token_latency_ms", "per_token_latency_ms"):
            p = row[key]
            assert 0 < p["p50"] <= p["p90"] <= p["p99"]


def test_table_has_one_line_per_batch():
    r = run("bench", "generate", MODEL, "--batch", "2", *SMALL)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert "decode tok/s" in lines[1]
    assert len(lines) == 3 and lines[2].split()[0] == "2"


def test_bad_flags_are_user_errors():
    assert_user_error(run("bench", "generate", MODEL, "--batch", "1,x", *SMALL), "--batch")
    assert_user_error(run("bench", "generate", MODEL, "--batch", "0", *SMALL), "--batch")
    assert_user_error(run("bench", "generate", MODEL, "--output-len", "0", "--device", "cpu"), "--output-len")
    assert_user_error(run("bench", "generate", MODEL, "--device", "cpu", "--dtype", "int8"), "int8")
