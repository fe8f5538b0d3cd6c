"""turbine perplexity: the golden held-out figure (fp32, within 0.1%) and the output form."""
import json
import os
from pathlib import Path

from turbine_cli import MODEL, run

GOLDEN = Path(os.environ.get("TURBINE_SHARED", "../shared")) / "golden" / "golden.json"


def test_perplexity_of_kjv_llama_matches_the_fp32_reference():
    reference = json.loads(GOLDEN.read_text(encoding="utf-8"))["kjv-llama-ppl"]["fp32"]
    result = run("perplexity", MODEL, MODEL / "kjv_eval.txt", "--device", "cpu", timeout=600)
    assert result.returncode == 0, result.stderr
    value = float(result.stdout.decode().removeprefix("ppl = "))
    assert abs(value - reference) <= 0.001 * reference, (value, reference)


def test_perplexity_prints_four_decimals(tmp_path):
    text = (MODEL / "kjv_eval.txt").read_text(encoding="utf-8")[:1200]
    path = tmp_path / "short.txt"
    path.write_text(text, encoding="utf-8")
    result = run("perplexity", MODEL, path, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    line = result.stdout.decode()
    assert line.startswith("ppl = ") and line.endswith("\n")
    value = line[len("ppl = "):-1]
    assert len(value.split(".")[1]) == 4
    assert 1.0 < float(value) < 200.0  # a trained model on in-domain text
