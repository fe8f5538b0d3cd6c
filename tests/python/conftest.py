"""Shared fixtures: the kjv-llama pipeline on the CPU, and the goldens."""
import json
import os
from pathlib import Path

import pytest

import turbine

SHARED = Path(os.environ.get("TURBINE_SHARED", Path(__file__).resolve().parents[3] / "shared"))
MODEL = SHARED / "models" / "kjv-llama"
TOLERANCE = 0.05  # the margin rule's fp32 tolerance (../shared/README.md)


def golden(name="kjv-llama"):
    return json.loads((SHARED / "golden" / "golden.json").read_text(encoding="utf-8"))[name]


def comparable_steps(case):
    """Steps of the greedy ids the margin rule compares (up to the first margin below tolerance)."""
    for i, margin in enumerate(case["margins"]):
        if margin < TOLERANCE:
            return i
    return len(case["greedy_ids"])


@pytest.fixture(scope="module")
def pipe():
    with turbine.pipeline(MODEL, device="cpu", threads=2, cpu_memory="1GiB") as p:
        yield p


GREEDY = turbine.GenerationConfig(temperature=0, ignore_eos=True)
