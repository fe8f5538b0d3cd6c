"""`turbine convert` and workspaces: a kjv-llama workspace at tp 1 and 2 generates the goldens' greedy ids
like the model folder, `chat` runs from a workspace, flags override the workspace's tunables, and each bad
workspace (other format version, missing rank file, corrupt JSON, --tp other than the workspace's) and
bad conversion (--tp that does not divide the heads, an occupied folder, a workspace as input) is one
clear error."""
import json
import shutil

import pytest

from turbine_cli import MODEL, assert_user_error, golden, run

CASE = golden()["kjv-llama"][0]
PROMPT_IDS = " ".join(map(str, CASE["prompt_ids"]))
N = 8  # the first greedy ids; the margin rule holds them (checked below)


def convert(tmp_path, name, *args):
    out = tmp_path / name
    result = run("convert", MODEL, out, *args, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def greedy_ids(model, *args):
    result = run("generate", model, "--device", "cpu", "--prompt-ids", PROMPT_IDS, "--ids", "--max-new-tokens", N,
                 "--ignore-eos", *args, timeout=300)
    assert result.returncode == 0, result.stderr
    return [int(t) for t in result.stdout.split()]


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ws")
    return {tp: convert(tmp, f"tp{tp}", "--tp", tp, "--session-len", "512") for tp in (1, 2)}


def test_the_goldens_margins_hold_for_the_compared_ids():
    assert all(m >= 0.05 for m in CASE["margins"][:N])


@pytest.mark.parametrize("tp", [1, 2])
def test_a_workspace_gives_the_golden_greedy_ids(workspaces, tp):
    ws = workspaces[tp]
    info = json.loads((ws / "workspace.json").read_text())
    assert info["version"] == 1 and info["tp"] == tp
    assert info["tunables"]["session_len"] == 512
    assert info["model"]["num_key_value_heads"] == 2
    assert sorted(p.name for p in ws.glob("rank-*.safetensors")) == [f"rank-{r}.safetensors" for r in range(tp)]
    assert (ws / "tokenizer.model").exists() or (ws / "tokenizer.json").exists()
    assert greedy_ids(ws) == CASE["greedy_ids"][:N]


def test_the_model_folder_with_tp_2_gives_the_golden_greedy_ids():
    assert greedy_ids(MODEL, "--tp", "2") == CASE["greedy_ids"][:N]


def test_chat_from_a_workspace(workspaces):
    stdin = b"In the beginning God created the heaven and the earth.\nAnd the earth was without form.\n"
    from_folder = run("chat", MODEL, "--device", "cpu", "--max-new-tokens", "12", stdin=stdin, timeout=300)
    from_ws = run("chat", workspaces[1], "--device", "cpu", "--max-new-tokens", "12", stdin=stdin, timeout=300)
    assert from_folder.returncode == 0 and from_ws.returncode == 0, from_ws.stderr
    assert from_ws.stdout == from_folder.stdout
    assert from_ws.stdout.count(b"\n\n") == 2


def test_the_workspace_tunables_apply_and_flags_override_them(workspaces):
    # The workspace says --session-len 512: a request of 600 new tokens does not fit it ...
    too_long = run("generate", workspaces[1], "--device", "cpu", "--prompt-ids", PROMPT_IDS, "--max-new-tokens", "600")
    assert_user_error(too_long, "512")
    # ... unless the command line gives another session length.
    ok = run("generate", workspaces[1], "--device", "cpu", "--prompt-ids", PROMPT_IDS, "--ids", "--max-new-tokens",
             "2", "--session-len", "2048")
    assert ok.returncode == 0, ok.stderr


def copy_of(ws, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(ws, dst)
    return dst


def test_another_format_version_is_an_error(workspaces, tmp_path):
    ws = copy_of(workspaces[1], tmp_path)
    info = json.loads((ws / "workspace.json").read_text())
    info["version"] = 99
    (ws / "workspace.json").write_text(json.dumps(info))
    assert_user_error(run("generate", ws, "--device", "cpu", "--prompt", "In"), "workspace.json", "version 99")


def test_a_missing_rank_file_is_an_error(workspaces, tmp_path):
    ws = copy_of(workspaces[2], tmp_path)
    (ws / "rank-1.safetensors").unlink()
    assert_user_error(run("generate", ws, "--device", "cpu", "--prompt", "In"), "rank-1.safetensors", "missing")


def test_corrupt_json_is_an_error(workspaces, tmp_path):
    ws = copy_of(workspaces[1], tmp_path)
    (ws / "workspace.json").write_text('{"format": "turbine-workspace", "version": ')
    assert_user_error(run("generate", ws, "--device", "cpu", "--prompt", "In"), "workspace.json", "malformed JSON")


def test_a_tp_other_than_the_workspaces_is_an_error(workspaces):
    assert_user_error(run("generate", workspaces[1], "--device", "cpu", "--tp", "2", "--prompt", "In"), "--tp 2",
                      "1 rank")


def test_a_tp_that_does_not_divide_the_heads_is_an_error(tmp_path):
    assert_user_error(run("convert", MODEL, tmp_path / "ws", "--tp", "3"), "--tp 3", "heads")
    assert not (tmp_path / "ws").exists()
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--tp", "3", "--prompt", "In"), "--tp 3", "heads")


def test_converting_into_an_occupied_folder_or_from_a_workspace_is_an_error(workspaces, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    assert_user_error(run("convert", MODEL, tmp_path / "full"), "not an empty folder")
    assert_user_error(run("convert", workspaces[1], tmp_path / "again"), "already a workspace")


def test_bad_convert_flags_are_errors(tmp_path):
    assert_user_error(run("convert", MODEL, tmp_path / "a", "--dtype", "int8"), "--dtype int8")
    assert_user_error(run("convert", MODEL, tmp_path / "b", "--kv-quant", "int3"), "--kv-quant")


def test_convert_records_the_kv_format_and_commands_use_it(tmp_path):
    ws = tmp_path / "ws"
    result = run("convert", MODEL, ws, "--kv-quant", "int8")
    assert result.returncode == 0, result.stderr
    assert json.loads((ws / "workspace.json").read_text())["tunables"]["kv_quant"] == "int8"
    # perplexity takes the workspace's int8 cache unless --kv-quant is given: int8 is within 0.05% of none
    ppl = {}
    for extra in ([], ["--kv-quant", "none"]):
        r = run("perplexity", ws, MODEL / "kjv_eval.txt", "--device", "cpu", *extra, timeout=600)
        assert r.returncode == 0, r.stderr
        ppl[len(extra)] = float(r.stdout.decode().split("=")[1])
    assert ppl[0] != ppl[2] and abs(ppl[0] / ppl[2] - 1) < 5e-4, ppl


def test_the_perplexity_from_a_tp_2_workspace_is_the_goldens(workspaces):
    result = run("perplexity", workspaces[2], MODEL / "kjv_eval.txt", "--device", "cpu", timeout=600)
    assert result.returncode == 0, result.stderr
    ppl = float(result.stdout.decode().split("=")[1])
    want = golden()["kjv-llama-ppl"]["fp32"]
    assert abs(ppl - want) <= want * 1e-3, (ppl, want)


def test_more_ranks_than_gpus_is_an_error():  # CI has no GPU; on a machine with two this would run
    assert_user_error(run("generate", MODEL, "--device", "cuda", "--tp", "2", "--prompt", "In"), "--tp 2", "GPU")


def test_bad_devices_are_errors():
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--devices", "0,1", "--prompt", "In"), "--devices")
    assert_user_error(run("generate", MODEL, "--device", "cuda", "--tp", "2", "--devices", "0", "--prompt", "In"),
                      "--devices")


def test_bench_generate_runs_a_workspace_and_tp_2(workspaces):
    for args in ([workspaces[2]], [MODEL, "--tp", "2"]):
        r = run("bench", "generate", *args, "--device", "cpu", "--batch", "2", "--input-len", "6", "--output-len", "4",
                "--warmup", "0", "--json", timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.decode().splitlines()[0])["decode_throughput"] > 0


def test_a_quantized_model_does_not_convert_yet(tmp_path):
    folder = tmp_path / "awq"
    folder.mkdir()
    for f in MODEL.iterdir():
        if f.name != "config.json":
            (folder / f.name).symlink_to(f)
    config = json.loads((MODEL / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "awq", "bits": 4, "group_size": 128}
    (folder / "config.json").write_text(json.dumps(config))
    assert_user_error(run("convert", folder, tmp_path / "ws"), "quantized", "not yet")
    assert not (tmp_path / "ws").exists()
