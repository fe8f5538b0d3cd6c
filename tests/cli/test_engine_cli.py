"""The engine through the command line: generate --prompts-file, chat over a pipe, bench throughput."""
import json

import pytest

from turbine_cli import MODEL, assert_user_error, run

PROMPTS = ["In the beginning God created", "And the LORD spake unto Moses, saying,", "Blessed are the",
           "For God so loved the world,"]
COMMON = ["--device", "cpu", "--threads", "2", "--max-new-tokens", "8"]


@pytest.fixture(scope="module")
def prompts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    # Blank lines are not prompts.
    path.write_text("\n".join([PROMPTS[0], "", PROMPTS[1], "   ", PROMPTS[2], PROMPTS[3]]) + "\n\n", encoding="utf-8")
    return path


def single(prompt, *extra):
    r = run("generate", MODEL, "--prompt", prompt, *COMMON, *extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8")


def test_prompts_file_ids_in_input_order_equal_single_runs(prompts_file):
    r = run("generate", MODEL, "--prompts-file", prompts_file, "--ids", *COMMON)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == len(PROMPTS)
    for prompt, line in zip(PROMPTS, lines):
        assert line == single(prompt, "--ids").strip()


def test_prompts_file_text_is_one_json_string_per_prompt(prompts_file):
    r = run("generate", MODEL, "--prompts-file", prompts_file, *COMMON)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(PROMPTS)
    for prompt, line in zip(PROMPTS, lines):
        text = json.loads(line)
        assert isinstance(text, str) and text
        assert text == single(prompt)[:-1]  # single runs end with a newline


def test_prompts_file_through_a_tiny_cache_gives_the_same_ids(prompts_file):
    base = run("generate", MODEL, "--prompts-file", prompts_file, "--ids", *COMMON)
    tiny = run("generate", MODEL, "--prompts-file", prompts_file, "--ids", *COMMON, "--cache-max-entry-count",
               "300KiB", "--cache-block-seq-len", "4")
    assert tiny.returncode == 0, tiny.stderr
    assert tiny.stdout == base.stdout


def test_empty_prompts_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n\n", encoding="utf-8")
    assert_user_error(run("generate", MODEL, "--prompts-file", path, *COMMON), "--prompts-file", "no prompts")


def test_missing_prompts_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "nope.txt"
    assert_user_error(run("generate", MODEL, "--prompts-file", path, *COMMON), "--prompts-file", str(path))


def test_prompts_file_and_prompt_together_is_an_error(prompts_file):
    assert_user_error(run("generate", MODEL, "--prompts-file", prompts_file, "--prompt", "x", *COMMON),
                      "--prompts-file")


def test_chat_over_a_pipe_one_reply_per_line_and_reset():
    question = "Who made the heaven and the earth?"
    script = f"{question}\n/reset\n{question}\nAnd the sea?\n/exit\nnot read\n"
    r = run("chat", MODEL, *COMMON, stdin=script.encode())
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8")
    assert out.endswith("\n\n")
    replies = out[:-2].split("\n\n")
    assert len(replies) == 3, out
    assert all(reply.strip() == reply and reply for reply in replies)
    assert replies[0] == replies[1]  # /reset: the same question in a fresh conversation, greedy


def test_chat_with_empty_input_prints_nothing():
    r = run("chat", MODEL, *COMMON, stdin=b"")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""


def test_bench_throughput_json_row():
    r = run("bench", "throughput", MODEL, "--requests", "6", "--input-len-range", "4:12", "--output-len-range", "2:5",
            "--seed", "3", "--json", "--device", "cpu", "--threads", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["requests"] == 6
    assert 12 <= row["output_tokens"] <= 30
    assert 24 <= row["input_tokens"] <= 72
    for key in ["request_throughput", "output_throughput", "ttft_ms_p50", "ttft_ms_p99", "itl_ms_p90"]:
        assert row[key] >= 0


def test_bench_throughput_counts_the_kv_its_decode_steps_read():
    r = run("bench", "throughput", MODEL, "--requests", "3", "--input-len-range", "8:8", "--output-len-range", "4:4",
            "--json", "--device", "cpu", "--threads", "2")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.decode())
    assert row["input_tokens"] == 24 and row["output_tokens"] == 12
    # Tokens 2..4 of each request are decoded and attend to 9, 10 and 11 cached tokens.
    assert row["decode_kv_tokens"] == 3 * (9 + 10 + 11)
    assert row["model_s"] > 0 and row["schedule_s"] >= 0 and row["commit_s"] >= 0
    assert row["model_s"] + row["schedule_s"] + row["commit_s"] <= row["elapsed_s"]
    # All three fit one step's batch (a step may start before the last two are submitted).
    assert row["max_batch"] == 3 and 1.0 <= row["mean_batch"] <= 3.0


def test_bench_throughput_reports_the_batch_the_engine_ran():
    r = run("bench", "throughput", MODEL, "--requests", "5", "--input-len-range", "8:8", "--output-len-range", "4:4",
            "--max-batch-size", "2", "--json", "--device", "cpu", "--threads", "2")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.decode())
    # At most 2 at a time; five equal requests leave some step with one.
    assert row["max_batch"] == 2 and 1.0 < row["mean_batch"] < 2.0
    text = run("bench", "throughput", MODEL, "--requests", "5", "--input-len-range", "8:8", "--output-len-range", "4:4",
               "--max-batch-size", "2", "--device", "cpu", "--threads", "2")
    assert text.returncode == 0, text.stderr
    assert "2 at most" in text.stdout.decode()


def test_bench_throughput_bad_range_is_a_one_line_error():
    assert_user_error(run("bench", "throughput", MODEL, "--requests", "2", "--input-len-range", "9:3",
                          "--device", "cpu"), "--input-len-range")


def test_chat_second_turn_reuses_the_first_turns_kv(tmp_path):
    question = "Who made the heaven and the earth?"
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "user", "content": question}]), encoding="utf-8")
    rendered = run("template", MODEL, "--messages", messages)
    assert rendered.returncode == 0, rendered.stderr
    first_turn = len(run("tokenize", MODEL, "--file", "-", stdin=rendered.stdout).stdout.split())
    r = run("chat", MODEL, *COMMON, "--stats", stdin=f"{question}\nAnd the sea?\n".encode())
    assert r.returncode == 0, r.stderr
    stats = dict(kv.split("=") for kv in r.stderr.decode().strip().splitlines()[-1].split()[1:])
    # The second turn starts with the first turn's prompt: its KV comes from the session.
    assert int(stats["cached_prefix_tokens"]) >= first_turn
    assert int(stats["prefilled_tokens"]) < 2 * first_turn + int(stats["cached_prefix_tokens"])



# kjv-llama's greedy reply to "What is love?" begins with a space-prefixed token (" of the LORD?..."),
# so the kjv template (' ' + content.strip() + ' ' + eos) writes the reply back as generated. The
# sampled reply (" ye your thanksg yourody song? ...") is one that re-tokenizing splits differently
# than the model generated it, so only keeping the generated ids lets the second turn reuse it.
@pytest.mark.parametrize("sampling", [[], ["--temperature", "1.5", "--seed", "1"]], ids=["greedy", "sampled"])
def test_chat_second_turn_prefills_only_its_new_tokens(tmp_path, sampling):
    question, follow_up = "What is love?", "And the sea?"
    options = ["--device", "cpu", "--threads", "2", "--max-new-tokens", "12", *sampling]

    def render(messages):
        path = tmp_path / "m.json"
        path.write_text(json.dumps(messages), encoding="utf-8")
        r = run("template", MODEL, "--messages", path)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode("utf-8")

    def tokenize(text):
        r = run("tokenize", MODEL, "--file", "-", stdin=text.encode("utf-8"))
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    def generate(prompt, *extra):
        r = run("generate", MODEL, "--prompt", prompt, *options, *extra)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode("utf-8")[:-1]

    r = run("chat", MODEL, *options, "--stats", stdin=f"{question}\n{follow_up}\n".encode())
    assert r.returncode == 0, r.stderr
    reply = r.stdout.decode("utf-8").split("\n\n")[0]
    stats = dict(kv.split("=") for kv in r.stderr.decode().strip().splitlines()[-1].split()[1:])

    # The reply as generated: the same run through `generate` (which adds the BOS itself).
    first = render([{"role": "user", "content": question}])
    assert first.startswith("<s>")
    generated = generate(first[len("<s>"):])
    assert generated == " " + reply, "the reply must begin with a space-prefixed token"
    generated_ids = generate(first[len("<s>"):], "--ids").split()
    if sampling:
        assert tokenize(first + generated) != tokenize(first) + generated_ids

    # What the second rendering adds after the conversation so far (prompt + reply as generated).
    second = render([{"role": "user", "content": question}, {"role": "assistant", "content": reply},
                     {"role": "user", "content": follow_up}])
    so_far = first + generated
    assert second.startswith(so_far)
    assert tokenize(second)[:len(tokenize(so_far))] == tokenize(so_far)
    added = len(tokenize(second)) - len(tokenize(so_far))
    assert added > 5
    # The session caches every token it computed: all but the last one sampled (with no stop id in
    # the reply, its last generated token; a stop id would not be kept anyway, the template writing
    # ' ' before eos).
    uncomputed = 1 if len(generated_ids) == 12 else 0
    second_turn_prefill = int(stats["prefilled_tokens"]) - len(tokenize(first))
    assert second_turn_prefill == added + uncomputed
