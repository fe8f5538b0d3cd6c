"""turbine perplexity: the output form on a short text (the full golden run takes minutes on 2 cores)."""
from turbine_cli import MODEL, run


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
