"""One request rule for every way a prompt reaches the engine (engine/request_validation.h), the
--echo option, --log-level, and cache sizes checked before anything is allocated."""
import time

from turbine_cli import MODEL, assert_user_error, generate, run

PROMPT = "In the beginning God created"  # BOS + 5 tokens


def test_zero_max_new_tokens_generates_nothing(tmp_path):
    assert generate("--prompt", PROMPT, "--max-new-tokens", "0") == b""
    assert generate("--prompt", PROMPT, "--max-new-tokens", "0", "--ids") == b""
    prompts = tmp_path / "p.txt"
    prompts.write_text(PROMPT + "\n")
    assert generate("--prompts-file", prompts, "--max-new-tokens", "0") == b'""'


def test_the_same_prompt_gets_the_same_answer_by_every_form(tmp_path):
    # 6 tokens in a session of 6: no room for the default, by --prompt and by --prompts-file alike.
    prompts = tmp_path / "p.txt"
    prompts.write_text(PROMPT + "\n")
    for source in (["--prompt", PROMPT], ["--prompts-file", prompts], ["--prompt-ids", "1 512 278 6763 4177 2825"]):
        line = assert_user_error(run("generate", MODEL, "--device", "cpu", "--session-len", "6", *source),
                                 "leaves no room to generate")
        assert source[0] in line
    # With room for 2 tokens the default is cut to 2, by every form.
    ids = generate("--prompt", PROMPT, "--session-len", "8", "--ids").split()
    assert len(ids) == 2
    assert generate("--prompts-file", prompts, "--session-len", "8", "--ids").split() == ids


def test_explicit_max_new_tokens_beyond_the_session_is_an_error():
    line = assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", PROMPT, "--session-len", "8",
                                 "--max-new-tokens", "3"), "max_new_tokens 3 does not fit", "--session-len")
    assert "6 tokens" in line
    assert len(generate("--prompt", PROMPT, "--session-len", "8", "--max-new-tokens", "2", "--ids").split()) == 2


def test_prompts_file_names_the_line_as_an_editor_counts_it(tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n\nAnd God said\n\n" + "and the " * 40 + "\n")
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompts-file", prompts, "--session-len", "20"),
                      "--prompts-file line 5")


def test_prompts_file_that_is_a_folder(tmp_path):
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompts-file", tmp_path), "is a folder")


def test_prompt_ids_outside_the_vocabulary_name_their_flag():
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt-ids", "1 32000"), "--prompt-ids", "32000")


def test_echo_prints_the_prompt_first(tmp_path):
    plain = generate("--prompt", PROMPT, "--max-new-tokens", "5")
    assert generate("--prompt", PROMPT, "--max-new-tokens", "5", "--echo") == PROMPT.encode() + plain
    ids = generate("--prompt", PROMPT, "--max-new-tokens", "5", "--ids").split()
    echoed = generate("--prompt", PROMPT, "--max-new-tokens", "5", "--ids", "--echo").split()
    assert echoed == b"1 512 278 6763 4177 2825".split() + ids
    # Ids given as ids echo as what they decode to (BOS written out).
    from_ids = generate("--prompt-ids", "1 512 278 6763 4177 2825", "--max-new-tokens", "5", "--echo")
    assert from_ids == b"<s>In the beginning God created" + plain


def test_huge_cache_sizes_fail_at_once_without_allocating():
    for size in ("100TiB", "10TiB"):
        start = time.monotonic()
        assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "hi", "--cache-max-entry-count", size),
                          "--cache-max-entry-count", "TiB")
        assert time.monotonic() - start < 30
    result = run("generate", MODEL, "--device", "cpu", "--prompt", "hi", "--cpu-memory", "1000TiB",
                 "--max-new-tokens", "2")
    assert result.returncode == 0, result.stderr  # capped at the machine's memory, of which 0.8 is used lazily
    assert b"bad_alloc" not in result.stderr


def test_log_level():
    assert run("--log-level", "info", "tokenize", MODEL, "hi").returncode == 0
    assert run("tokenize", MODEL, "hi", "--log-level", "debug").returncode == 0
    result = run("--log-level", "loud", "tokenize", MODEL, "hi")
    assert result.returncode == 2 and b"--log-level" in result.stderr
