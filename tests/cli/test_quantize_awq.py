"""`turbine quantize awq`: the folder it writes (AutoAWQ's GEMM layout, read back here by an independent
numpy unpacking written from AutoAWQ's documented order), its perplexity on kjv-llama against the bf16
reference, and its user errors. Each folder is quantized once per module."""
import hashlib
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from turbine_cli import MODEL, SHARED, assert_user_error, golden, run

SOURCE = Path(__file__).resolve().parents[1]
CALIB = SOURCE / "data" / "kjv_calibration.txt"
EVAL = MODEL / "kjv_eval.txt"
# AutoAWQ packs the eight outputs 8j..8j+7 of a word in the order 0 2 4 6 1 3 5 7 (nibble i, bits 4i..4i+3,
# holds output 8j + ORDER[i]).
ORDER = [0, 2, 4, 6, 1, 3, 5, 7]
# kjv-llama's `--method rtn` copy as it was before quantize wrote its file layer by layer (it must not change):
# round to nearest is exact IEEE arithmetic (no sums, nothing a fused multiply-add could contract), so the
# bytes are the same on every machine. Its greedy ids were the same under --cpu-isa avx2 and scalar.
RTN_SHA256 = "b8feed6ba17aae4b79ab2c56a14ca825a05369c5bd49aeb0c36d5b994b20bb23"
RTN_PROMPT = "In the beginning God created"
RTN_GREEDY_IDS = [287, 29892, 322, 278, 916, 373, 278, 7205, 29892, 322, 373, 278, 7205, 29892, 322, 373]
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
           "mlp.up_proj", "mlp.down_proj"]


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    kinds = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I32": np.int32}
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        a = np.frombuffer(body[begin:end], dtype=kinds[entry["dtype"]]).reshape(entry["shape"])
        if entry["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a
    return out


def unpack_awq(packed):
    """[rows, cols / 8] int32 -> [rows, cols] values 0..15, AutoAWQ's order undone."""
    words = packed.view(np.uint32)
    rows, n_words = words.shape
    out = np.zeros((rows, n_words * 8), dtype=np.int64)
    for i, column in enumerate(ORDER):
        out[:, column::8] = (words >> (4 * i)) & 15
    return out


def dequantize(tensors, base, group):
    q = unpack_awq(tensors[base + ".qweight"])  # [k, n]
    z = unpack_awq(tensors[base + ".qzeros"])  # [k / g, n]
    s = tensors[base + ".scales"].astype(np.float32)  # [k / g, n]
    w = (q - np.repeat(z, group, axis=0)) * np.repeat(s, group, axis=0)
    return w.T, np.repeat(s, group, axis=0).T  # [n, k] like the dense weight


def quantize(out, *args):
    result = run("quantize", "awq", MODEL, "--out", out, *args, timeout=1800)
    assert result.returncode == 0, result.stderr.decode()
    return result


def perplexity(model):
    result = run("perplexity", model, EVAL, "--device", "cpu", timeout=600)
    assert result.returncode == 0, result.stderr.decode()
    return float(re.match(rb"ppl = ([0-9.]+)", result.stdout).group(1))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    if not (MODEL / "model.safetensors").exists():
        pytest.skip("no kjv-llama")
    root = tmp_path_factory.mktemp("awq")
    quantize(root / "rtn", "--method", "rtn")
    quantize(root / "awq", "--calib", CALIB)
    return root


def test_the_folder_is_autoawqs_gemm_layout_and_unpacks_independently(folders):
    config = json.loads((folders / "awq" / "config.json").read_text())
    assert config["quantization_config"] == {"bits": 4, "group_size": 128, "modules_to_not_convert": None,
                                             "quant_method": "awq", "version": "gemm", "zero_point": True}
    for name in ["tokenizer.model", "tokenizer_config.json", "generation_config.json"]:
        assert (folders / "awq" / name).read_bytes() == (MODEL / name).read_bytes()
    original = read_safetensors(MODEL / "model.safetensors")
    rtn = read_safetensors(folders / "rtn" / "model.safetensors")
    for layer in range(config["num_hidden_layers"]):
        for linear in LINEARS:
            base = f"model.layers.{layer}.{linear}"
            assert base + ".weight" not in rtn
            w = original[base + ".weight"]
            n, k = w.shape
            assert rtn[base + ".qweight"].shape == (k, n // 8) and rtn[base + ".qweight"].dtype == np.int32
            assert rtn[base + ".qzeros"].shape == (k // 128, n // 8)
            assert rtn[base + ".scales"].shape == (k // 128, n) and rtn[base + ".scales"].dtype == np.float16
            # Round to nearest: every weight within one step (half a step, or one where the rounded zero point
            # pushes a group's extreme past 15) and a quarter step on average; a wrong nibble order or
            # transposition is off by many steps.
            got, step = dequantize(rtn, base, 128)
            err = np.abs(got - w)
            assert np.all(err <= step * 1.001 + 1e-7), base
            assert np.mean(err / step) < 0.3, base
    # What stays 16-bit is copied as it was.
    for name in ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"]:
        assert np.array_equal(rtn[name], original[name])


def test_the_rtn_copy_is_the_recorded_file_and_generates_the_recorded_ids(folders):
    assert hashlib.sha256((folders / "rtn" / "model.safetensors").read_bytes()).hexdigest() == RTN_SHA256
    result = run("generate", folders / "rtn", "--prompt", RTN_PROMPT, "--ids", "--ignore-eos", "--max-new-tokens",
                 len(RTN_GREEDY_IDS), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert [int(x) for x in result.stdout.split()] == RTN_GREEDY_IDS


def test_awq_scales_are_folded_into_the_norms(folders):
    awq = read_safetensors(folders / "awq" / "model.safetensors")
    original = read_safetensors(MODEL / "model.safetensors")
    # q|k|v share the attention norm: their columns times s and the norm over s give the same product.
    base = "model.layers.0.self_attn.q_proj"
    norm = awq["model.layers.0.input_layernorm.weight"]
    w, step = dequantize(awq, base, 128)
    folded = w * norm[None, :]
    reference = original[base + ".weight"] * original["model.layers.0.input_layernorm.weight"][None, :]
    assert not np.array_equal(norm, original["model.layers.0.input_layernorm.weight"])
    assert np.abs(folded - reference).mean() < 0.25 * np.abs(reference).mean()


def test_awq_perplexity_is_within_one_percent_of_bf16_and_beats_round_to_nearest(folders):
    reference = golden()["kjv-llama-ppl"]["bf16"]
    awq, rtn = perplexity(folders / "awq"), perplexity(folders / "rtn")
    print(f"kjv-llama ppl: bf16 reference {reference}, AWQ g128 {awq:.4f}, RTN g128 {rtn:.4f}")
    assert awq <= reference * 1.01
    assert awq < rtn


def test_every_command_takes_the_folder(folders):
    result = run("generate", folders / "awq", "--prompt", "In the beginning", "--max-new-tokens", "8", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 0


def test_bad_input_is_one_error_line_and_leaves_no_files(folders, tmp_path):
    assert_user_error(run("quantize", "awq", MODEL, "--out", tmp_path / "a"), "--calib")
    short = tmp_path / "short.txt"
    short.write_text("In the beginning God created the heaven and the earth.\n")
    assert_user_error(run("quantize", "awq", MODEL, "--out", tmp_path / "b", "--calib", short), "--calib", "tokens")
    assert_user_error(run("quantize", "awq", MODEL, "--out", folders / "rtn", "--method", "rtn"), "--out", "not empty")
    assert_user_error(run("quantize", "awq", MODEL, "--out", tmp_path / "c", "--method", "rtn", "--group-size", "96"),
                      "--group-size 96")
    assert_user_error(run("quantize", "awq", folders / "rtn", "--out", tmp_path / "d", "--method", "rtn"),
                      "quantized already")
    assert_user_error(run("quantize", "awq", MODEL, "--out", tmp_path / "e", "--calib", CALIB, "--device", "gpu"),
                      "--device", "cpu, cuda or cuda:N")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_a_missing_gpu_is_an_error_before_any_work(tmp_path):
    """--device cuda runs awq's fp32 products on a GPU: where there is none (CI), or no GPU of that index, one
    error line and no files; rtn, which has no products, runs on the CPU whatever the device."""
    probe = run("generate", MODEL, "--device", "cuda", "--prompt", "In", "--max-new-tokens", "1")
    missing = "cuda" if probe.returncode != 0 else "cuda:4096"  # on a GPU machine, an index past its GPUs
    assert_user_error(run("quantize", "awq", MODEL, "--out", tmp_path / "a", "--calib", CALIB, "--device", missing),
                      f"--device {missing}", "GPU")
    assert list(tmp_path.iterdir()) == []
    if probe.returncode == 0:
        return  # tests/gpu/cuda_awq_test.cpp runs --device cuda itself
    result = run("quantize", "awq", MODEL, "--out", tmp_path / "r", "--method", "rtn", "--device", "cuda")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "model.safetensors").is_file()


@pytest.mark.parametrize("field,value,word", [("quant_method", "gptq", "quant_method"), ("bits", 8, "bits"),
                                              ("version", "gemv", "version"), ("zero_point", False, "zero_point")])
def test_unsupported_quantization_configs_name_the_field(folders, tmp_path, field, value, word):
    for f in (folders / "rtn").iterdir():
        (tmp_path / f.name).symlink_to(f)
    config = json.loads((folders / "rtn" / "config.json").read_text())
    config["quantization_config"][field] = value
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert_user_error(run("generate", tmp_path, "--prompt", "In", "--max-new-tokens", "1", "--device", "cpu"),
                      "quantization_config." + word)


def test_ctrl_c_stops_after_a_layer_and_leaves_no_files(tmp_path):
    """Ctrl-C during the search is an error at the end of the layer in progress; nothing is left behind."""
    import signal
    import time
    from turbine_cli import BIN
    work = tmp_path / "work"
    work.mkdir()
    out = work / "q"
    proc = subprocess.Popen([BIN, "quantize", "awq", str(MODEL), "--out", str(out), "--calib", str(CALIB),
                             "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The folder is written under a hidden name beside --out from the first layer on.
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".q") for p in work.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "no partial folder appeared"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0, stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: interrupted after"), stderr
    assert str(out) in lines[0]
    assert list(work.iterdir()) == []


def test_a_killed_quantize_leaves_a_partial_folder_the_next_one_removes(tmp_path):
    """SIGKILL skips every cleanup: the hidden partial folder stays until the next quantize into the same
    --out, which removes it since its process is gone; one whose process runs is left alone."""
    import os
    import signal
    import time
    from turbine_cli import BIN
    work = tmp_path / "work"
    work.mkdir()
    out = work / "q"
    proc = subprocess.Popen([BIN, "quantize", "awq", str(MODEL), "--out", str(out), "--calib", str(CALIB),
                             "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".q.partial-") for p in work.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "no partial folder appeared"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    stale = work / f".q.partial-{proc.pid}"
    assert stale.is_dir()
    alive = work / f".q.partial-{os.getpid()}"  # this test's own process: running
    alive.mkdir()
    result = run("quantize", "awq", MODEL, "--method", "rtn", "--out", out)
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert alive.is_dir()
    assert sorted(p.name for p in work.iterdir()) == [alive.name, "q"]

