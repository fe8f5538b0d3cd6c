"""The CPU backend's flags (--cpu-isa, --cpu-weights): on every command that runs a model, checked (a bad
value, or an instruction set this processor lacks, is one `error:` line naming the flag), and each
kernel path and weight storage gives the same greedy text on kjv-llama. Also bench/cpu_peer_summary.py
on hand-made peer outputs."""
import json
import os
import pathlib
import subprocess
import sys

from turbine_cli import MODEL, assert_user_error, generate, run

PROMPT = ["--prompt", "In the beginning God created", "--max-new-tokens", "6"]
SOURCE = pathlib.Path(os.environ.get("TURBINE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))


def cpu_flags():
    text = pathlib.Path("/proc/cpuinfo").read_text() if pathlib.Path("/proc/cpuinfo").exists() else ""
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def supported_isas():
    flags = cpu_flags()
    isas = ["scalar"]
    if {"avx2", "fma", "f16c"} <= flags:
        isas.append("avx2")
        if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
            isas.append("avx512")
    return isas


def test_every_model_command_takes_them():
    for command in (["generate"], ["chat"], ["serve"], ["bench", "generate"], ["bench", "throughput"],
                    ["perplexity"]):
        r = run(*command, "--help")
        assert r.returncode == 0, command
        assert b"--cpu-isa" in r.stdout and b"--cpu-weights" in r.stdout, command


def test_each_kernel_path_and_weight_storage_gives_the_same_greedy_text():
    want = generate(*PROMPT, "--cpu-weights", "f32", "--cpu-isa", "scalar")
    for isa in ["auto", *supported_isas()]:
        for weights in ("checkpoint", "f32"):
            assert generate(*PROMPT, "--cpu-isa", isa, "--cpu-weights", weights) == want, (isa, weights)


def test_bad_values_name_the_flag():
    base = ["generate", MODEL, "--device", "cpu", *PROMPT]
    line = assert_user_error(run(*base, "--cpu-isa", "sse9"), "--cpu-isa")
    assert "sse9" in line
    assert_user_error(run(*base, "--cpu-weights", "int4"), "--cpu-weights")
    assert_user_error(run("bench", "generate", MODEL, "--device", "cpu", "--cpu-isa", "neon"), "--cpu-isa")


def test_an_instruction_set_the_processor_lacks_is_a_user_error():
    missing = [isa for isa in ("avx2", "avx512") if isa not in supported_isas()]
    for isa in missing:
        line = assert_user_error(run("generate", MODEL, "--device", "cpu", *PROMPT, "--cpu-isa", isa), "--cpu-isa")
        assert "does not support" in line
    # Nothing to check on a machine that has them all; the error path is covered where one is missing.


def write_round(out, i, turbine_b1, turbine_b16, prefill_ms, pp512_ms, w4a16=None):
    lc, tb = out / f"llamacpp-{i}", out / f"turbine-{i}"
    lc.mkdir()
    tb.mkdir()
    (lc / "llamacpp_cpu_bench.md").write_text(
        "| model | size | params | backend | threads | test | t/s |\n"
        "| --- | ---: | ---: | ---------- | ------: | ------------: | -------------------: |\n"
        "| llama ?B BF16 | 43.21 MiB | 22.65 M | CPU | 2 | pp128 | 12800.00 ± 10.00 |\n"
        "| llama ?B BF16 | 43.21 MiB | 22.65 M | CPU | 2 | tg128 | 1000.00 ± 5.00 |\n")
    (lc / "pp512.md").write_text(
        "| model | size | params | backend | threads | test | t/s |\n"
        "| --- | ---: | ---: | ---------- | ------: | ------------: | -------------------: |\n"
        "| llama ?B BF16 | 43.21 MiB | 22.65 M | CPU | 2 | pp512 | 10240.00 ± 10.00 |\n")
    (lc / "llamacpp_cpu_batched.md").write_text(
        "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n"
        "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|\n"
        "|   128 |    128 |    1 |    256 |    0.011 | 11000.00 |    0.128 |  1000.00 |    0.139 |  1800.00 |\n"
        "|   128 |    128 |    4 |   1024 |    0.040 | 12000.00 |    0.300 |  1700.00 |    0.340 |  3000.00 |\n"
        "|   128 |    128 |   16 |   4096 |    0.170 | 12000.00 |    0.700 |  2900.00 |    0.870 |  4700.00 |\n")
    rows = [{"batch": 1, "decode_throughput": turbine_b1, "first_token_latency_ms": {"p50": prefill_ms}},
            {"batch": 16, "decode_throughput": turbine_b16, "first_token_latency_ms": {"p50": 99.0}}]
    (tb / "generate.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tb / "pp512.json").write_text(json.dumps({"batch": 1, "first_token_latency_ms": {"p50": pp512_ms}}) + "\n")
    if w4a16 is not None:
        q = [{"batch": 1, "decode_throughput": w4a16[0]}, {"batch": 16, "decode_throughput": w4a16[1]}]
        (tb / "w4a16.json").write_text("".join(json.dumps(r) + "\n" for r in q))


def test_peer_summary_takes_medians_and_ratios(tmp_path):
    write_round(tmp_path, 1, 900.0, 2900.0, 10.0, 100.0, (1200.0, 3000.0))
    write_round(tmp_path, 2, 1100.0, 5800.0, 20.0, 50.0, (1080.0, 9000.0))
    write_round(tmp_path, 3, 1000.0, 3000.0, 5.0, 25.0)  # a round without the W4A16 run
    out = subprocess.run([sys.executable, str(SOURCE / "bench" / "cpu_peer_summary.py"), str(tmp_path), "3"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
            for line in out.stdout.splitlines() if line.startswith("| ") and "figure" not in line}
    assert rows["decode b1 tok/s"][1:4] == ["1000.0", "1000.0", "1.00x"]
    assert rows["decode b16 tok/s"][1:4] == ["3000.0", "2900.0", "1.03x"]
    assert rows["prefill 128 ms"][1:4] == ["10.0", "10.0", "1.00x"]  # 128 / 12800 t/s = 10 ms
    assert rows["prefill 512 ms"][1:4] == ["50.0", "50.0", "1.00x"]  # 512 / 10240 t/s = 50 ms
    # W4A16 against 16-bit, over the two rounds that have it: medians 1140 / 1000 and 6000 / 4350.
    assert "2 rounds" in out.stdout
    assert rows["batch 1"][1:4] == ["1140.0", "1000.0", "1.14x"]
    assert rows["batch 16"][1:4] == ["6000.0", "4350.0", "1.38x"]
