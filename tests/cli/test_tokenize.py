"""turbine tokenize / detokenize against the llama2-spm goldens (kjv-llama's tokenizer.model)."""
import shutil

import pytest

from turbine_cli import MODEL, assert_user_error, golden, run

CASES = golden()["llama2-spm"]


def ids_line(ids):
    return (" ".join(map(str, ids)) + "\n").encode()


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_tokenize_golden(case):
    result = run("tokenize", MODEL, case["text"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == ids_line(case["ids"])


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_detokenize_golden(case):
    result = run("detokenize", MODEL, *case["ids"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == case["text"].encode() + b"\n"


def test_tokenize_file_and_stdin(tmp_path):
    text = "In the beginning God created the heaven and the earth.\n\nAnd the earth was without form"
    expected = run("tokenize", MODEL, text).stdout
    path = tmp_path / "input.txt"
    path.write_text(text, encoding="utf-8")
    assert run("tokenize", MODEL, "--file", path).stdout == expected
    assert run("tokenize", MODEL, "--file", "-", stdin=text.encode()).stdout == expected


def test_special_token_strings_become_single_ids():
    assert run("tokenize", MODEL, "<s>Hello</s>").stdout == b"1 15043 2\n"
    assert run("detokenize", MODEL, 1, 15043, 3186, 2).stdout == b"<s>Hello world</s>\n"


def test_tokenizer_only_folder(tmp_path):
    shutil.copy(MODEL / "tokenizer.model", tmp_path)
    shutil.copy(MODEL / "tokenizer_config.json", tmp_path)
    assert run("tokenize", tmp_path, "Hello world").stdout == b"15043 3186\n"


def test_missing_model_folder(tmp_path):
    assert_user_error(run("tokenize", tmp_path / "nope", "x"), "nope")
    assert_user_error(run("detokenize", tmp_path / "nope", 1), "nope")


def test_folder_without_tokenizer(tmp_path):
    assert_user_error(run("tokenize", tmp_path, "x"), str(tmp_path))


def test_nonexistent_file(tmp_path):
    assert_user_error(run("tokenize", MODEL, "--file", tmp_path / "missing.txt"), "missing.txt")


def test_text_and_file_together(tmp_path):
    assert_user_error(run("tokenize", MODEL, "x", "--file", tmp_path / "a.txt"), "--file")


def test_bad_ids():
    assert_user_error(run("detokenize", MODEL, 32000), "32000")
    assert_user_error(run("detokenize", MODEL, "abc"), "abc")
