#!/usr/bin/env python3
"""Per-op costs of the decode steps in a kernel timeline (bench/kernel_timeline.cpp's CSV).

Usage: timeline_summary.py kernels.csv [steps]
The run should be `turbine bench generate ... --batch B`: each decode step is the recorded graph's
kernels followed by one argmax kernel, which ends the step. The last `steps` steps (default 100) are
summed op by op. For each kernel, in start order:
  advance  how far it moved the end of the work done so far (the chain's critical path): the
           advances of a step add up to its span, so an op's advance is what it costs the step
  duration its own start to end (under programmatic dependent launch a kernel starts early and
           waits, so this can be much longer than its advance)
  overlap  how long it started before the kernel ahead of it ended
The host gap is the idle time between one step's argmax and the next step's first kernel.
"""
import csv
import re
import statistics
import sys

def unmangle(name):
    """The innermost name of an Itanium-mangled function (_ZN4a2bc...E or _Z3foo...), else the name."""
    if not name.startswith("_Z"):
        return name
    pos = 3 if name.startswith("_ZN") else 2
    parts = []
    while True:
        digits = re.match(r"\d+", name[pos:])
        if not digits:
            break
        pos += digits.end()
        parts.append(name[pos : pos + int(digits.group())])
        pos += int(digits.group())
    return parts[-1] if parts else name


def short_name(mangled):
    name = unmangle(mangled)
    if name.startswith("nvjet"):
        return "cublasLt"
    return name[: -len("_kernel")] if name.endswith("_kernel") else name[:40]


def is_gemm(name):
    return "gemm" in name or name.startswith("int4_gemv") or name in ("cublasLt", "splitKreduce")


# A layer's projections in the order they run; a GEMM that follows another GEMM with no op between
# them (the one-token 4-bit GEMVs, which run the norms, RoPE and SwiGLU themselves) is the next one.
NEXT_PROJECTION = {"o": "gate_up", "gate_up": "down", "down": "qkv", "qkv": "o"}


# The one-token skinny GEMM with its neighbours fused in (skinny_gemm.cu), by the template arguments
# SkinnyInput (1: AddRmsNorm) and Rope in its mangled name: the projection it computes.
FUSED_SKINNY = {("1", "1"): "qkv+norm+rope", ("1", "0"): "gate_up+norm"}


def label_step(kernels):
    """Names each kernel by its op; GEMMs by the projection they compute (from the op before them)."""
    labels, norms, role, after_gemm = [], 0, "gemm", False
    for k in kernels:
        name = short_name(k["name"])
        fused = re.search(r"SkinnyInputE(\d)ELb(\d)E", k["name"])
        if fused and fused.groups() in FUSED_SKINNY:
            labels.append(FUSED_SKINNY[fused.groups()])
            role, after_gemm = labels[-1].split("+")[0], True
            continue
        if is_gemm(name):
            if name == "splitKreduce":
                labels.append(role + " (reduce)")
                continue
            if after_gemm:
                role = NEXT_PROJECTION.get(role, role)
            labels.append(role)
            after_gemm = True
            continue
        after_gemm = False
        if name.startswith("rms_norm"):
            role = "qkv" if norms % 2 == 0 else "gate_up"
            norms += 1
        elif name.startswith("paged_decode") or name.startswith("paged_attention"):
            role = "o"
        elif name.startswith("silu"):
            role = "down"
        elif name.startswith("gather_rows"):
            role = "qkv" if not labels else "lm_head"  # the step's first kernel gathers the embeddings
        labels.append(name)
    return labels


COLUMNS = ("start_ns", "end_ns", "graph_node", "name")


def read_timeline(path):
    """The kernel rows of a kernel_timeline CSV, with integer start/end; exits with a message on bad input."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                sys.exit(f"{path}: not a kernel timeline (no column {', '.join(missing)})")
            rows = list(reader)
    except OSError as e:
        sys.exit(f"{path}: cannot read: {e.strerror}")
    for line, r in enumerate(rows, start=2):
        try:
            r["start"], r["end"] = int(r["start_ns"]), int(r["end_ns"])
        except (TypeError, ValueError):
            sys.exit(f"{path}:{line}: start_ns and end_ns must be integers")
    return rows


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(f"usage: {sys.argv[0]} kernels.csv [steps]")
    path = sys.argv[1]
    try:
        want = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    except ValueError:
        want = 0
    if want < 1:
        sys.exit(f"steps: expected a positive integer, got '{sys.argv[2]}'")
    rows = read_timeline(path)
    rows.sort(key=lambda r: r["start"])
    # Steps: the recorded-graph kernels between two argmax kernels.
    ends = [i for i, r in enumerate(rows) if "argmax" in r["name"]]
    steps = []
    for a, b in zip(ends, ends[1:]):
        body = rows[a + 1 : b + 1]
        if body and all(r["graph_node"] != "0" for r in body[:-1]):
            steps.append((rows[a], body))
    steps = steps[-want:]
    if not steps:
        sys.exit("no decode steps found (argmax-delimited recorded-graph kernels)")
    per_label = {}
    spans, gaps = [], []
    for prev, body in steps:
        labels = label_step(body)
        frontier = body[0]["start"]
        gaps.append(max(0, body[0]["start"] - prev["end"]) / 1e3)
        totals = {}
        for k, lab in zip(body, labels):
            advance = max(0, k["end"] - frontier)
            overlap = max(0, frontier - k["start"])
            frontier = max(frontier, k["end"])
            t = totals.setdefault(lab, [0, 0.0, 0.0, 0.0])
            t[0] += 1
            t[1] += advance / 1e3
            t[2] += (k["end"] - k["start"]) / 1e3
            t[3] += overlap / 1e3
        spans.append((frontier - body[0]["start"]) / 1e3)
        for lab, t in totals.items():
            per_label.setdefault(lab, []).append(t)
    span = statistics.median(spans)
    print(f"{len(steps)} steps: span {span:.1f} us (median), host gap {statistics.median(gaps):.1f} us before each")
    print(f"{'op':<24}{'per step':>9}{'advance us':>12}{'share':>8}{'duration us':>13}{'overlap us':>12}")
    order = sorted(per_label.items(), key=lambda kv: -statistics.median(t[1] for t in kv[1]))
    for lab, ts in order:
        med = [statistics.median(t[i] for t in ts) for i in range(4)]
        print(f"{lab:<24}{med[0]:>9.0f}{med[1]:>12.1f}{med[1] / span:>8.1%}{med[2]:>13.1f}{med[3]:>12.1f}")


if __name__ == "__main__":
    main()
