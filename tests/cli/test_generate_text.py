"""turbine generate text output: the decode rule, the leading space, --stop, limits, sampling."""
from turbine_cli import detokenize, generate, golden

CASES = golden()["kjv-llama"]


def test_text_is_decode_of_all_minus_decode_of_prompt():
    case = CASES[1]
    ids = [int(x) for x in generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 24).split()]
    text = generate("--prompt", case["prompt"], "--max-new-tokens", 24)
    full = detokenize(case["prompt_ids"] + ids)
    head = detokenize(case["prompt_ids"])
    assert full.startswith(head)
    assert text == full[len(head):]


def test_first_tokens_leading_space_is_kept():
    # Greedy after "In the beginning" is "▁of ▁the ▁world": the text keeps the first token's space,
    # which decode(generated ids) alone would drop.
    ids = [int(x) for x in generate("--prompt", "In the beginning", "--ids", "--max-new-tokens", 3).split()]
    assert detokenize([29889] + ids[:1]).startswith(b". ")  # "." then the first token: a spaced piece
    text = generate("--prompt", "In the beginning", "--max-new-tokens", 3)
    assert text == b" " + detokenize(ids)


def test_stop_string():
    case = CASES[0]  # greedy text: "ed, and the other on the earth, and upon the earth, ..."
    full = generate("--prompt", case["prompt"], "--max-new-tokens", 20)
    assert b"the earth" in full
    text = generate("--prompt", case["prompt"], "--max-new-tokens", 20, "--stop", "the earth")
    assert text == full[:full.index(b"the earth")]
    # With --ids, the ids go through the token that completed the stop string.
    ids = [int(x) for x in generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 20,
                                    "--stop", "the earth").split()]
    assert b"the earth" in detokenize(case["prompt_ids"] + ids)
    assert b"the earth" not in detokenize(case["prompt_ids"] + ids[:-1])


def test_max_new_tokens_and_seeded_sampling():
    case = CASES[0]
    ids = generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 5).split()
    assert len(ids) == 5
    a = generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 12, "--temperature", "1.0",
                 "--top-k", "40", "--seed", "7")
    b = generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 12, "--temperature", "1.0",
                 "--top-k", "40", "--seed", "7")
    assert a == b


def test_generation_stops_at_the_context_end():
    case = CASES[0]
    # The default number of new tokens is cut to what the session leaves (an explicit one beyond it is an
    # error: test_request_rules.py).
    ids = generate("--prompt", case["prompt"], "--ids", "--session-len", 10).split()
    assert len(ids) == 10 - len(case["prompt_ids"])
