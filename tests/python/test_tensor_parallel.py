"""turbine.pipeline(..., tp=2) on kjv-llama: two CPU ranks give the goldens' greedy ids; a tp that does not
divide the heads, and one that is not a positive int, are clear errors."""
import pytest

import turbine
from conftest import GREEDY, MODEL, comparable_steps, golden


def test_two_ranks_give_the_golden_greedy_ids():
    with turbine.pipeline(MODEL, device="cpu", threads=2, cpu_memory="1GiB", tp=2) as pipe:
        for case in golden():
            r = pipe(case["prompt"], GREEDY, max_new_tokens=len(case["greedy_ids"]))
            n = comparable_steps(case)
            assert r.token_ids[:n] == case["greedy_ids"][:n]


@pytest.mark.parametrize("tp, error, words", [(3, ValueError, ["--tp 3", "heads"]), (0, ValueError, ["tp"]),
                                               ("2", TypeError, ["tp"])])
def test_bad_tp(tp, error, words):
    with pytest.raises(error) as info:
        turbine.pipeline(MODEL, device="cpu", threads=2, cpu_memory="1GiB", tp=tp)
    for w in words:
        assert w in str(info.value)
