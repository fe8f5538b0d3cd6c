#!/usr/bin/env python3
"""Compares the base-ab phase's two sides (compare_peers.sh): the mean of each metric over the
alternated rounds, head / base, and whether head stays within 2% of base (higher is better for
throughputs, lower for the prefill latency).
Usage: ab_summary.py OUT_DIR   (reads base_ab.jsonl, base_ab_prefill.jsonl, base_ab_throughput.jsonl)"""
import json
import sys
from pathlib import Path


def rows(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().startswith("{")]


def main(out):
    metrics = {}  # name -> (higher_is_better, {side: [values]})

    def add(name, higher, side, value):
        metrics.setdefault(name, (higher, {"base": [], "head": []}))[1][side].append(value)

    for r in rows(out / "base_ab.jsonl"):
        add(f"decode batch {r['batch']} (tok/s)", True, r["side"], r["decode_throughput"])
    for r in rows(out / "base_ab_prefill.jsonl"):
        add(f"prefill {r['input_len']} p50 (ms)", False, r["side"], r["first_token_latency_ms"]["p50"])
    for r in rows(out / "base_ab_throughput.jsonl"):
        add("bench throughput (req/s)", True, r["side"], r["request_throughput"])
        add("bench throughput (output tok/s)", True, r["side"], r["output_throughput"])
    print("| metric | base (runs) | head (runs) | head / base | within 2% |")
    print("|---|---|---|---|---|")
    worst_ok = True
    for name, (higher, sides) in metrics.items():
        base, head = sides["base"], sides["head"]
        if not base or not head:
            print(f"| {name} | {base} | {head} | - | missing |")
            worst_ok = False
            continue
        mb, mh = sum(base) / len(base), sum(head) / len(head)
        ratio = mh / mb
        ok = ratio >= 0.98 if higher else ratio <= 1.02
        worst_ok &= ok
        runs = lambda v: ", ".join(f"{x:.4g}" for x in v)
        print(f"| {name} | {mb:.4g} ({runs(base)}) | {mh:.4g} ({runs(head)}) | {ratio:.3f} | {'yes' if ok else 'NO'} |")
    print(f"\nall within 2%: {'yes' if worst_ok else 'NO'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
