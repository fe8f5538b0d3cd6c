"""turbine tokenize on hostile text, for every kind of tokenizer: 1 MB of one repeated character
through --file, invalid UTF-8, an empty text. Each gives a clear result, never a crash or a hang."""
import pytest

from turbine_cli import MODEL, SHARED, run

FOLDERS = {
    "sentencepiece": MODEL,
    "llama3": SHARED / "tokenizers" / "llama3",
    "qwen3": SHARED / "tokenizers" / "qwen3",
    "spm-bpe-32k": SHARED / "tokenizers" / "spm-bpe-32k",
}


def ids_of(result):
    assert result.returncode == 0, result.stderr
    return [int(x) for x in result.stdout.decode().split()]


@pytest.mark.parametrize("name", FOLDERS)
@pytest.mark.parametrize("char", ["a", " ", "\u4e2d"])
def test_one_megabyte_of_one_character(tmp_path, name, char):
    path = tmp_path / "big.txt"
    text = char * ((1 << 20) // len(char.encode()))
    path.write_text(text, encoding="utf-8")
    ids = ids_of(run("tokenize", FOLDERS[name], "--file", path, timeout=60))
    assert 0 < len(ids) <= len(text.encode()) + 1
    back = run("detokenize", FOLDERS[name], *ids[:64])
    assert back.returncode == 0, back.stderr


@pytest.mark.parametrize("name", FOLDERS)
def test_invalid_utf8_is_replaced_not_fatal(tmp_path, name):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"In the \xff\xfe beginning \xe2\x82")
    ids = ids_of(run("tokenize", FOLDERS[name], "--file", path))
    assert ids
    text = run("detokenize", FOLDERS[name], *ids)
    assert text.returncode == 0
    assert "beginning" in text.stdout.decode("utf-8")  # the output is valid UTF-8


@pytest.mark.parametrize("name", FOLDERS)
def test_empty_text_gives_no_ids(tmp_path, name):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    result = run("tokenize", FOLDERS[name], "--file", path)
    assert ids_of(result) == []
    assert result.stdout == b"\n"
