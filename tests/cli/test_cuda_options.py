"""The CUDA backend's flags (--cuda-graphs, ...): accepted by every command that runs a model, checked
(a bad value is one `error:` line naming the flag), and without effect on the cpu backend."""
import json
import os
import subprocess

from turbine_cli import BIN, MODEL, assert_user_error, generate, run

ALL_OFF = ["--cuda-graphs", "off", "--cuda-fused", "off", "--cuda-pdl", "off", "--cublaslt-tune", "off",
           "--skinny-gemm-max-tokens", "0", "--wgmma-gemm-max-tokens", "0", "--int4-gemv-max-tokens", "0",
           "--int4-tiled-gemm", "off", "--int4-wgmma", "off", "--int4-b-order", "off", "--int4-tiled-min-tokens", "64", "--int4-tiled-max-tokens", "64",
           "--int4-dequant-min-tokens", "0", "--flash-quantized-kv", "off", "--kv-decode-wide-lanes", "off"]
PROMPT = ["--prompt", "In the beginning", "--max-new-tokens", "4"]


def test_generate_on_cpu_accepts_and_ignores_them():
    assert generate(*PROMPT, *ALL_OFF) == generate(*PROMPT)
    assert generate(*PROMPT, "--cuda-graphs", "on", "--skinny-gemm-max-tokens", "2") == generate(*PROMPT)


def test_every_model_command_takes_them():
    for command in (["generate"], ["chat"], ["bench", "generate"], ["bench", "throughput"], ["perplexity"]):
        r = run(*command, "--help")
        assert r.returncode == 0, command
        for flag in (b"--cuda-graphs", b"--cuda-fused", b"--cuda-pdl", b"--cublaslt-tune",
                     b"--skinny-gemm-max-tokens", b"--wgmma-gemm-max-tokens", b"--int4-gemv-max-tokens",
                     b"--int4-tiled-gemm", b"--int4-wgmma", b"--int4-b-order", b"--int4-tiled-min-tokens", b"--int4-tiled-max-tokens",
                     b"--int4-dequant-min-tokens", b"--flash-quantized-kv", b"--kv-decode-wide-lanes"):
            assert flag in r.stdout, (command, flag)


def test_bad_values_name_the_flag():
    base = ["generate", MODEL, "--device", "cpu", *PROMPT]
    line = assert_user_error(run(*base, "--cuda-graphs", "maybe"), "--cuda-graphs")
    assert "on or off" in line and "maybe" in line
    assert_user_error(run(*base, "--cuda-pdl", ""), "--cuda-pdl")
    assert_user_error(run(*base, "--skinny-gemm-max-tokens", "3"), "--skinny-gemm-max-tokens")
    assert_user_error(run(*base, "--wgmma-gemm-max-tokens", "49"), "--wgmma-gemm-max-tokens")
    assert_user_error(run(*base, "--wgmma-gemm-max-tokens", "x"), "--wgmma-gemm-max-tokens")
    assert_user_error(run(*base, "--int4-gemv-max-tokens", "17"), "--int4-gemv-max-tokens")
    assert_user_error(run(*base, "--int4-tiled-gemm", "yes"), "--int4-tiled-gemm")
    assert_user_error(run(*base, "--int4-wgmma", "auto"), "--int4-wgmma")
    assert_user_error(run(*base, "--int4-b-order", "natural"), "--int4-b-order")
    assert_user_error(run(*base, "--int4-tiled-min-tokens", "-3"), "--int4-tiled-min-tokens")
    assert_user_error(run(*base, "--int4-tiled-max-tokens", "many"), "--int4-tiled-max-tokens")
    assert_user_error(run(*base, "--int4-tiled-min-tokens", "65", "--int4-tiled-max-tokens", "64"),
                      "--int4-tiled-max-tokens")
    assert_user_error(run(*base, "--flash-quantized-kv", "maybe"), "--flash-quantized-kv")
    assert_user_error(run(*base, "--kv-decode-wide-lanes", "wide"), "--kv-decode-wide-lanes")
    assert_user_error(run(*base, "--int4-dequant-min-tokens", "-1"), "--int4-dequant-min-tokens")
    assert_user_error(run("bench", "generate", MODEL, "--device", "cpu", "--cublaslt-tune", "no"), "--cublaslt-tune")


def test_cpu_reads_no_cuda_environment():
    env = dict(os.environ, TURBINE_CUDA_GRAPHS="maybe", TURBINE_CUDA_SKINNY_GEMM="99")
    r = subprocess.run([BIN, "generate", str(MODEL), "--device", "cpu", *PROMPT], env=env, capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"TURBINE_CUDA" not in r.stderr


def test_bench_generate_reports_the_cpu_kv_cache_as_memory_in_use():
    r = run("bench", "generate", MODEL, "--device", "cpu", "--input-len", "6", "--output-len", "4", "--warmup", "0",
            "--batch", "2", "--json", *ALL_OFF)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.decode().splitlines()[0])
    assert row["peak_memory_gib"] > 0
