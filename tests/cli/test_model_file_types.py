"""Model files must be regular files: a FIFO, a folder or a socket in their place is one clear error,
never a hang (opening a FIFO blocks until a writer comes) and never "malformed JSON"."""
import json
import os
import socket

import pytest

from turbine_cli import MODEL, SHARED, assert_user_error, run

QWEN = SHARED / "models" / "qwen2-tiny"
MESSAGES = [{"role": "user", "content": "hi"}]


def linked_copy(source, folder, skip=()):
    """A model folder of links to `source`'s files, without those in `skip`."""
    folder.mkdir()
    for f in source.iterdir():
        if f.name not in skip:
            (folder / f.name).symlink_to(f)
    return folder


def make_special(path, kind):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        # A socket's path is limited to 108 bytes: bind it by its name, from its folder.
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(path.name)
            sock.close()
        finally:
            os.chdir(cwd)


def command(name, folder, tmp_path):
    if name == "generate":
        return ["generate", folder, "--prompt", "hi", "--max-new-tokens", "1", "--device", "cpu"]
    if name == "tokenize":
        return ["tokenize", folder, "hi"]
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps(MESSAGES))
    return ["template", folder, "--messages", messages]


# (source model, file made special, command that must read it, files left out of the copy)
CASES = [
    (MODEL, "config.json", "generate", ()),
    (MODEL, "generation_config.json", "generate", ()),
    (MODEL, "model.safetensors", "generate", ()),
    (MODEL, "model.safetensors.index.json", "generate", ("model.safetensors",)),
    (MODEL, "tokenizer.model", "tokenize", ()),
    (MODEL, "tokenizer_config.json", "tokenize", ()),
    (MODEL, "tokenizer_config.json", "template", ()),
    (QWEN, "tokenizer.json", "tokenize", ()),
    (QWEN, "chat_template.jinja", "template", ()),
]


@pytest.mark.parametrize("kind", ["fifo", "folder", "socket"])
@pytest.mark.parametrize("source, name, cmd, skip", CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_special_file_is_a_clear_error(tmp_path, kind, source, name, cmd, skip):
    folder = linked_copy(source, tmp_path / "model", skip=set(skip) | {name})
    make_special(folder / name, kind)
    line = assert_user_error(run(*command(cmd, folder, tmp_path), timeout=60), name)
    expected = {"fifo": "is a FIFO (named pipe), not a regular file", "folder": "is a folder, not a file",
                "socket": "is a socket, not a regular file"}[kind]
    assert expected in line
    assert "malformed JSON" not in line


def test_fifo_shard_named_by_the_index(tmp_path):
    folder = linked_copy(MODEL, tmp_path / "model", skip={"model.safetensors"})
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00001.safetensors"}}))
    os.mkfifo(folder / "model-00001-of-00001.safetensors")
    line = assert_user_error(run(*command("generate", folder, tmp_path), timeout=60), "model-00001-of-00001")
    assert "FIFO" in line
