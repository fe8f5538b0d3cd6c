"""turbine generate --prompts-file (all prompts at once through the engine's continuous batching, fp32
CPU) on the mixture-of-experts models and on an InternLM2-layout copy of kjv-llama, against golden.json
(margin rule), and turbine perplexity on the copy against kjv-llama's."""
import subprocess

import pytest

from turbine_cli import SHARED, golden, run

TOLERANCE = 0.05  # margin rule, fp32 CPU


def trusted_steps(case):
    """Steps before the first one whose top-1/top-2 margin is below the tolerance."""
    return next((i for i, m in enumerate(case["margins"]) if m < TOLERANCE), len(case["margins"]))


@pytest.fixture(scope="module")
def internlm2(tmp_path_factory):
    out = tmp_path_factory.mktemp("internlm2") / "kjv-internlm2"
    subprocess.run(["/usr/bin/python3", str(SHARED / "scripts" / "make_internlm2.py"),
                    str(SHARED / "models" / "kjv-llama"), str(out)], check=True, capture_output=True)
    return out


def check_batched_greedy(model, cases, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(c["prompt"] + "\n" for c in cases), encoding="utf-8")
    n = max(len(c["greedy_ids"]) for c in cases)
    result = run("generate", model, "--device", "cpu", "--prompts-file", prompts, "--ids", "--ignore-eos",
                 "--max-new-tokens", n, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines):
        ids = [int(x) for x in line.split()]
        k = trusted_steps(case)
        assert k > 0 and ids[:k] == case["greedy_ids"][:k], case["prompt"]


@pytest.mark.parametrize("name", ["mixtral-tiny", "qwen3-moe-tiny"])
def test_moe_batched_greedy_ids_match_golden(name, tmp_path):
    check_batched_greedy(SHARED / "models" / name, golden()[name], tmp_path)


def test_internlm2_batched_greedy_ids_match_kjv_llama_golden(internlm2, tmp_path):
    check_batched_greedy(internlm2, golden()["kjv-llama"], tmp_path)


def test_internlm2_perplexity_matches_kjv_llama(internlm2):
    result = run("perplexity", internlm2, internlm2 / "kjv_eval.txt", "--device", "cpu", timeout=300)
    assert result.returncode == 0, result.stderr
    ppl = float(result.stdout.decode().split("=")[1])
    want = golden()["kjv-llama-ppl"]["fp32"]
    assert abs(ppl - want) <= want * 1e-3
