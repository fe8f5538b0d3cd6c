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


def test_step_log_has_every_timed_step_and_the_json_percentiles_come_from_it(tmp_path):
    log = tmp_path / "steps.csv"
    r = run("bench", "generate", MODEL, "--batch", "1,2", "--json", "--rounds", "2", "--step-log", str(log), *SMALL)
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "batch,round,context,ms"
    rows = [line.split(",") for line in lines[1:]]
    # Per batch: 2 rounds x 3 decode steps (output 4: the first token comes from the prefill), whose
    # tokens attend to 7, 8 and 9 cached tokens (prompt 6 + the tokens so far).
    expected = [(b, rd, ctx) for b in (1, 2) for rd in (0, 1) for ctx in (7, 8, 9)]
    assert [(int(b), int(rd), int(c)) for b, rd, c, _ in rows] == expected
    by_batch = {row["batch"]: row["per_token_latency_ms"] for row in map(json.loads, r.stdout.decode().splitlines())}
    for batch in (1, 2):
        ms = sorted(float(m) for b, _, _, m in rows if int(b) == batch)
        assert abs(by_batch[batch]["p50"] - (ms[2] + ms[3]) / 2) < 1e-3


def test_step_log_that_cannot_be_written_is_a_user_error(tmp_path):
    assert_user_error(run("bench", "generate", MODEL, "--step-log", str(tmp_path / "no" / "such" / "dir.csv"), *SMALL),
                      "--step-log")
