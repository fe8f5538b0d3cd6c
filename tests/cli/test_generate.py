"""turbine generate --ids on kjv-llama (fp32 CPU) against the golden greedy ids (margin rule)."""
import pytest

from turbine_cli import generate, golden

CASES = golden()["kjv-llama"]
TOLERANCE = 0.05  # margin rule, fp32 CPU


def trusted_steps(case):
    """Steps before the first one whose top-1/top-2 margin is below the tolerance."""
    return next((i for i, m in enumerate(case["margins"]) if m < TOLERANCE), len(case["margins"]))


@pytest.mark.parametrize("case", CASES, ids=[c["prompt"][:20] for c in CASES])
def test_greedy_ids_match_golden(case):
    n = len(case["greedy_ids"])
    ids = [int(x) for x in generate("--prompt", case["prompt"], "--ids", "--ignore-eos",
                                    "--max-new-tokens", n).split()]
    assert len(ids) == n
    k = trusted_steps(case)
    assert ids[:k] == case["greedy_ids"][:k]


def test_prompt_ids_equal_prompt_text():
    case = CASES[0]
    by_text = generate("--prompt", case["prompt"], "--ids", "--max-new-tokens", 8)
    by_ids = generate("--prompt-ids", " ".join(map(str, case["prompt_ids"])), "--ids", "--max-new-tokens", 8)
    assert by_text == by_ids


def test_frequency_and_presence_penalties_change_greedy_ids():
    case = CASES[1]
    args = ("--prompt", case["prompt"], "--ids", "--ignore-eos", "--max-new-tokens", 30)
    plain = [int(x) for x in generate(*args).split()]
    zero = [int(x) for x in generate(*args, "--presence-penalty", 0, "--frequency-penalty", 0).split()]
    assert zero == plain
    penalised = [int(x) for x in generate(*args, "--presence-penalty", 2, "--frequency-penalty", -0.5).split()]
    assert len(penalised) == 30 and penalised != plain
