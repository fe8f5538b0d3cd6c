"""Bad input to generate / perplexity: one `error: ...` line naming the file, field or flag."""
import shutil

import pytest

from turbine_cli import MODEL, assert_user_error, run


def copy_model(tmp_path, skip=()):
    folder = tmp_path / "model"
    folder.mkdir()
    for f in MODEL.iterdir():
        if f.name in skip:
            continue
        # The weights are large: link instead of copying.
        (folder / f.name).symlink_to(f) if f.suffix == ".safetensors" else shutil.copy(f, folder)
    return folder


def test_missing_model_folder(tmp_path):
    assert_user_error(run("generate", tmp_path / "absent", "--prompt", "hi", "--device", "cpu"), "absent")
    assert_user_error(run("perplexity", tmp_path / "absent", MODEL / "kjv_eval.txt", "--device", "cpu"), "absent")


def test_missing_config_json(tmp_path):
    folder = copy_model(tmp_path, skip={"config.json"})
    assert_user_error(run("generate", folder, "--prompt", "hi", "--device", "cpu"), "config.json")


def test_corrupt_config_json(tmp_path):
    folder = copy_model(tmp_path)
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "hidden_size": ')
    assert_user_error(run("generate", folder, "--prompt", "hi", "--device", "cpu"), "config.json")


def test_prompt_longer_than_context():
    line = assert_user_error(run("generate", MODEL, "--prompt", ("and the " * 1200).strip(), "--device", "cpu"), "2048")
    assert "2401" in line  # the prompt's length (BOS + 2400 tokens)
    line = assert_user_error(run("generate", MODEL, "--prompt", "In the beginning God created",
                                 "--session-len", "4", "--device", "cpu"), "--session-len")
    assert "6 tokens" in line


@pytest.mark.parametrize("flags, flag", [
    (["--device", "tpu"], "--device"),
    (["--temperature", "hot"], "--temperature"),
    (["--top-p", "1.5"], "--top-p"),
    (["--max-new-tokens", "-1"], "--max-new-tokens"),
    (["--cache-max-entry-count", "lots"], "--cache-max-entry-count"),
    (["--cpu-memory", "4 parsecs"], "--cpu-memory"),
    (["--prompt-ids", "1 x 3"], "--prompt-ids"),
])
def test_bad_flag_values(flags, flag):
    args = ["generate", MODEL, "--device", "cpu"]
    if "--prompt-ids" not in flags:
        args += ["--prompt", "hi"]
    assert_user_error(run(*args, *flags), flag)


def test_prompt_required():
    assert_user_error(run("generate", MODEL, "--device", "cpu"), "--prompt")


def test_perplexity_missing_file(tmp_path):
    assert_user_error(run("perplexity", MODEL, tmp_path / "no_such.txt", "--device", "cpu"), "no_such.txt")
