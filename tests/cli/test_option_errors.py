"""Bad option values: each is refused at parse time (before the model loads) with one `error:` line
that names the flag once and says what is wrong in plain numbers."""
import json
import re

import pytest

from turbine_cli import MODEL, assert_user_error, run

GENERATE = ["generate", MODEL, "--prompt", "hi", "--device", "cpu"]
CHAT = ["chat", MODEL, "--device", "cpu"]
BENCH_GENERATE = ["bench", "generate", MODEL, "--device", "cpu", "--batch", "1"]
BENCH_THROUGHPUT = ["bench", "throughput", MODEL, "--device", "cpu", "--requests", "1"]
INT_MAX = "2147483647"

# (command, bad flags, the flag at fault, fragment the error line must hold)
CASES = [
    (GENERATE, ["--cache-max-entry-count", "1.5"], "--cache-max-entry-count",
     "a fraction must be in (0, 1]; give a size with a unit such as 6GiB, got '1.5'"),
    (GENERATE, ["--cache-max-entry-count", "2"], "--cache-max-entry-count", "a fraction must be in (0, 1]"),
    (GENERATE, ["--cache-max-entry-count", "0"], "--cache-max-entry-count", "a fraction must be in (0, 1]"),
    (GENERATE, ["--cache-max-entry-count", "lots"], "--cache-max-entry-count", "'lots' is not a size"),
    (GENERATE, ["--cpu-memory", "0GiB"], "--cpu-memory", "'0GiB' is zero"),
    (GENERATE, ["--cpu-memory", "99999999999TiB"], "--cpu-memory", "is too large"),
    (GENERATE, ["--top-p", "1.5"], "--top-p", "--top-p: must be in [0, 1], got '1.5'"),
    (GENERATE, ["--top-p", "nan"], "--top-p", "must be in [0, 1], got 'nan'"),
    (GENERATE, ["--min-p", "-0.5"], "--min-p", "must be in [0, 1], got '-0.5'"),
    (GENERATE, ["--temperature", "nan"], "--temperature", "--temperature: must be a number >= 0, got 'nan'"),
    (GENERATE, ["--temperature", "inf"], "--temperature", "must be a number >= 0, got 'inf'"),
    (GENERATE, ["--temperature", "-1"], "--temperature", "must be a number >= 0, got '-1'"),
    (GENERATE, ["--temperature", "1e999"], "--temperature", "must be a number >= 0, got '1e999'"),
    (GENERATE, ["--temperature", "hot"], "--temperature", "must be a number >= 0, got 'hot'"),
    (GENERATE, ["--repetition-penalty", "0"], "--repetition-penalty", "must be a number above 0, got '0'"),
    (GENERATE, ["--repetition-penalty", "-inf"], "--repetition-penalty", "must be a number above 0"),
    (GENERATE, ["--presence-penalty", "2.5"], "--presence-penalty", "must be in [-2, 2], got '2.5'"),
    (GENERATE, ["--frequency-penalty", "-3"], "--frequency-penalty", "must be in [-2, 2], got '-3'"),
    (GENERATE, ["--frequency-penalty", "nan"], "--frequency-penalty", "must be in [-2, 2], got 'nan'"),
    (GENERATE, ["--max-new-tokens", "-1"], "--max-new-tokens", f"must be a whole number from 0 to {INT_MAX}, got -1"),
    (GENERATE, ["--max-new-tokens", "3000000000"], "--max-new-tokens",
     f"must be a whole number from 0 to {INT_MAX}, got 3000000000"),
    (GENERATE, ["--max-new-tokens", "1.5"], "--max-new-tokens", "must be a whole number"),
    # Between 2^30 and 2^31: a valid number, beyond the session (an explicit value must fit it).
    (GENERATE, ["--max-new-tokens", "1073741825", "--session-len", "16"], "--session-len",
     "max_new_tokens 1073741825 does not fit"),
    (GENERATE, ["--top-k", "-1"], "--top-k", f"must be a whole number from 0 to {INT_MAX}, got -1"),
    (GENERATE, ["--session-len", "0"], "--session-len", f"from 1 to {INT_MAX}, got 0"),
    (GENERATE, ["--session-len", "9999999999"], "--session-len", f"from 1 to {INT_MAX}, got 9999999999"),
    (GENERATE, ["--max-batch-size", "0"], "--max-batch-size", "from 1 to"),
    (GENERATE, ["--cache-block-seq-len", "-64"], "--cache-block-seq-len", "from 1 to"),
    (GENERATE, ["--kv-quant", "int3"], "--kv-quant", "expected none, int8, int4 or fp8, got 'int3'"),
    (CHAT, ["--kv-quant", "INT8"], "--kv-quant", "expected none, int8, int4 or fp8, got 'INT8'"),
    (BENCH_GENERATE, ["--kv-quant", "fp16"], "--kv-quant", "got 'fp16'"),
    (GENERATE, ["--max-prefill-token-num", "0"], "--max-prefill-token-num", "from 1 to"),
    (GENERATE, ["--lm-head-quant", "int8"], "--lm-head-quant", "expected none or int4, got 'int8'"),
    (BENCH_GENERATE, ["--lm-head-quant", "INT4"], "--lm-head-quant", "expected none or int4, got 'INT4'"),
    (GENERATE, ["--threads", "-1"], "--threads", f"from 0 to {INT_MAX}, got -1"),
    (GENERATE, ["--seed", "-1"], "--seed", "must be a whole number from 0 to 18446744073709551615, got '-1'"),
    (GENERATE, ["--seed", "18446744073709551616"], "--seed", "(2^64-1), got 18446744073709551616"),
    (GENERATE, ["--seed", "99999999999999999999999"], "--seed", "from 0 to 18446744073709551615"),
    (CHAT, ["--temperature", "nan"], "--temperature", "must be a number >= 0, got 'nan'"),
    (CHAT, ["--cache-max-entry-count", "3"], "--cache-max-entry-count", "a fraction must be in (0, 1]"),
    (BENCH_GENERATE, ["--warmup", "-1"], "--warmup", f"must be a whole number from 0 to {INT_MAX}, got -1"),
    (BENCH_GENERATE, ["--rounds", "0"], "--rounds", "from 1 to"),
    (BENCH_GENERATE, ["--input-len", "0"], "--input-len", "from 1 to"),
    (BENCH_GENERATE, ["--output-len", "-3"], "--output-len", "from 1 to"),
    (BENCH_GENERATE, ["--dtype", "fp16"], "--dtype", "--dtype fp16: the cpu backend computes in float32"),
    (BENCH_GENERATE, ["--dtype", "bf16"], "--dtype", "the cpu backend computes in float32"),
    (BENCH_GENERATE, ["--input-len", "2000", "--output-len", "100"], "--input-len",
     "--input-len 2000 + --output-len 100 = 2100 tokens, longer than the model's context of 2048 tokens"),
    (GENERATE, ["--dtype", "float8"], "--dtype", "--dtype: expected auto, float16, bfloat16 or float32, got 'float8'"),
    (GENERATE, ["--dtype", "bfloat16"], "--dtype", "--dtype bfloat16: the cpu backend computes in float32"),
    (CHAT, ["--dtype", "fp16"], "--dtype", "the cpu backend computes in float32"),
    (BENCH_THROUGHPUT, ["--rate", "nan"], "--rate", "--rate: must be a number >= 0, got 'nan'"),
    (BENCH_THROUGHPUT, ["--rate", "-2"], "--rate", "must be a number >= 0"),
    (BENCH_THROUGHPUT, ["--seed", "-1"], "--seed", "from 0 to 18446744073709551615"),
    (BENCH_THROUGHPUT, ["--requests", "0"], "--requests", "from 1 to"),
    (BENCH_THROUGHPUT, ["--input-len-range", "2000:2000", "--output-len-range", "100:100"], "--input-len-range",
     "exceed the context of 2048"),
]


@pytest.mark.parametrize("command, flags, flag, fragment", CASES, ids=[" ".join(c[1]) for c in CASES])
def test_bad_value(command, flags, flag, fragment):
    line = assert_user_error(run(*command, *flags, timeout=120), flag, fragment)
    # No error names its flag twice, and none prints a float bound in full (DBL_MAX, 0.000000).
    assert len(re.findall(re.escape(flag) + r"(?![-\w])", line)) == 1, line
    assert "179769" not in line and "0.000000" not in line, line


@pytest.mark.parametrize("flags", [
    ["--max-new-tokens", "0"],  # generates nothing
    ["--seed", "18446744073709551615"],
    ["--cache-max-entry-count", "1"],
    ["--cache-max-entry-count", ".5"],
    ["--cache-max-entry-count", "64MiB"],
    ["--temperature", "0"],
    ["--top-p", "1"],
    ["--kv-quant", "int4"],
    ["--kv-quant", "fp8"],
    ["--dtype", "auto"],
    ["--dtype", "float32"],
])
def test_edge_values_are_accepted(flags):
    limit = [] if "--max-new-tokens" in flags else ["--max-new-tokens", "2"]
    result = run(*GENERATE, *limit, *flags)
    assert result.returncode == 0, result.stderr


def test_config_field_between_2_30_and_2_31_names_the_real_limit(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for f in MODEL.iterdir():
        (folder / f.name).symlink_to(f)
    (folder / "config.json").unlink()
    config = json.loads((MODEL / "config.json").read_text())
    config["intermediate_size"] = 1073741825
    (folder / "config.json").write_text(json.dumps(config))
    line = assert_user_error(run("generate", folder, "--prompt", "hi", "--device", "cpu"), "intermediate_size")
    assert "must be a whole number from 1 to 1073741824 (2^30), got 1073741825" in line
    assert "positive integer" not in line


def test_bench_throughput_reports_its_kv_format():
    result = run(*BENCH_THROUGHPUT, "--kv-quant", "int8", "--json", "--input-len-range", "4:8",
                 "--output-len-range", "2:4")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["kv_quant"] == "int8"
