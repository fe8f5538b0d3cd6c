"""4-bit InternLM2: `turbine quantize awq` of the InternLM2-layout copy of kjv-llama (make_internlm2.py: the
same function, q|k|v packed per KV head into `wqkv`) writes the 4-bit wqkv in AutoAWQ's layout, holding
exactly the rows kjv-llama's 4-bit q, k and v get under the same settings; the folder and its workspace
give kjv-llama's 4-bit greedy ids and perplexity, at tp 1 and 2."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_quantize_awq import read_safetensors, unpack_awq
from turbine_cli import MODEL, SHARED, golden, run

GROUP = 64


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("awq-internlm2")
    subprocess.run(["/usr/bin/python3", str(SHARED / "scripts" / "make_internlm2.py"), str(MODEL),
                    str(root / "internlm2")], check=True, capture_output=True)
    calib = Path(__file__).resolve().parents[1] / "data" / "kjv_calibration.txt"
    for source in ("llama", "internlm2"):
        model = MODEL if source == "llama" else root / "internlm2"
        for method, extra in (("rtn", []), ("awq", ["--calib", calib, "--calib-tokens", "128"])):
            result = run("quantize", "awq", model, "--out", root / f"{source}-{method}", "--method", method,
                         "--group-size", GROUP, *extra, timeout=600)
            assert result.returncode == 0, result.stderr
    result = run("convert", root / "internlm2-rtn", root / "internlm2-rtn-ws2", "--tp", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    return root


def packed_order(heads, kv_heads, head_dim):
    """For each row of InternLM2's wqkv, the row of q|k|v (stacked) it holds."""
    group = heads // kv_heads
    rows = []
    for h in range(kv_heads):
        for g in range(group):
            rows += range((h * group + g) * head_dim, (h * group + g + 1) * head_dim)
        rows += range((heads + h) * head_dim, (heads + h + 1) * head_dim)
        rows += range((heads + kv_heads + h) * head_dim, (heads + kv_heads + h + 1) * head_dim)
    return np.array(rows)


@pytest.mark.parametrize("method", ["rtn", "awq"])
def test_the_4_bit_wqkv_is_the_llama_q_k_v_in_internlm2s_order(folders, method):
    config = json.loads((MODEL / "config.json").read_text())
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    order = packed_order(heads, kv_heads, config["hidden_size"] // heads)
    llama = read_safetensors(folders / f"llama-{method}" / "model.safetensors")
    internlm2 = read_safetensors(folders / f"internlm2-{method}" / "model.safetensors")
    assert json.loads((folders / f"internlm2-{method}" / "config.json").read_text())["quantization_config"][
        "group_size"] == GROUP
    for layer in range(config["num_hidden_layers"]):
        a, p = f"model.layers.{layer}.self_attn.", f"model.layers.{layer}.attention.wqkv"
        assert p + ".weight" not in internlm2
        for part, unpack in (("qweight", unpack_awq), ("qzeros", unpack_awq), ("scales", lambda s: s)):
            # [k or k / G, n]: the outputs are the columns
            stacked = np.concatenate([unpack(llama[a + x + "_proj." + part]) for x in "qkv"], axis=1)
            assert np.array_equal(unpack(internlm2[p + "." + part]), stacked[:, order]), (layer, part)
        # the folded norms are the same (AWQ scales the attention norm by what q|k|v share)
        assert np.array_equal(internlm2[f"model.layers.{layer}.attention_norm.weight"],
                              llama[f"model.layers.{layer}.input_layernorm.weight"])
        assert np.array_equal(internlm2[f"model.layers.{layer}.feed_forward.w2.qweight"],
                              llama[f"model.layers.{layer}.mlp.down_proj.qweight"])


def greedy_ids(model, *args):
    case = golden()["kjv-llama"][0]
    result = run("generate", model, "--device", "cpu", "--prompt-ids", " ".join(map(str, case["prompt_ids"])), "--ids",
                 "--max-new-tokens", "12", "--ignore-eos", *args, timeout=300)
    assert result.returncode == 0, result.stderr
    return [int(t) for t in result.stdout.split()]


@pytest.mark.parametrize("method", ["rtn", "awq"])
def test_the_4_bit_internlm2_gives_the_4_bit_llamas_greedy_ids(folders, method):
    want = greedy_ids(folders / f"llama-{method}")
    assert greedy_ids(folders / f"internlm2-{method}") == want
    assert greedy_ids(folders / f"internlm2-{method}", "--tp", "2") == want


def test_a_4_bit_internlm2_workspace_gives_the_same_ids_and_perplexity(folders, tmp_path):
    assert greedy_ids(folders / "internlm2-rtn-ws2") == greedy_ids(folders / "llama-rtn", "--tp", "2")
    chapters = (MODEL / "kjv_eval.txt").read_text().split("\n\n")
    text = tmp_path / "eval.txt"
    text.write_text(chapters[0] + "\n")
    ppl = {}
    for model, args in (("llama-rtn", []), ("internlm2-rtn", []), ("internlm2-rtn-ws2", [])):
        result = run("perplexity", folders / model, text, "--device", "cpu", *args, timeout=300)
        assert result.returncode == 0, result.stderr
        ppl[model] = float(result.stdout.decode().split("=")[1])
    assert ppl["internlm2-rtn"] == ppl["llama-rtn"], ppl
    assert abs(ppl["internlm2-rtn-ws2"] / ppl["llama-rtn"] - 1) <= 1e-4, ppl
