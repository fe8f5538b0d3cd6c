"""Reads compare_peers.sh's outputs in OUT_DIR and prints issue 19's W4A16 decode table: turbine with
the 4-bit checkpoint (turbine_awq.jsonl, the awq phase) beside turbine fp16 (turbine.jsonl, the turbine
phase) and llama.cpp Q4_K_M (llama-batched-bench S_TG: llamacpp_q4km_batched.md from the llamacpp-q4
phase, else llamacpp_batched.md from the llamacpp phase run with LLAMACPP_QUANT=1, which holds the f16
rows, then the Q4_K_M ones, so a batch size's second row is Q4_K_M), with each ratio against its
target (three decimals, so a near miss is not rounded up)."""
import json, sys
from pathlib import Path

out = Path(sys.argv[1])


def jsonl(name):
    p = out / name
    return {r["batch"]: r for r in (json.loads(l) for l in p.read_text().splitlines() if l.startswith("{"))} \
        if p.exists() else {}


fp16, awq = jsonl("turbine.jsonl"), jsonl("turbine_awq.jsonl")


def batched_rows(p):  # | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
    rows = {}
    for line in p.read_text().splitlines() if p.exists() else []:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 8 and cells[0].isdigit():
            rows.setdefault(int(cells[2]), []).append(float(cells[7]))
    return rows


# The llamacpp-q4 phase's file holds Q4_K_M rows alone; llamacpp_batched.md f16 rows, then Q4_K_M ones
# (f16 alone with LLAMACPP_QUANT=0: no Q4_K_M figure).
q4 = {b: r[0] for b, r in batched_rows(out / "llamacpp_q4km_batched.md").items()} or \
    {b: r[1] for b, r in batched_rows(out / "llamacpp_batched.md").items() if len(r) >= 2}


def tok_s(rows, b):
    return rows.get(b, {}).get("decode_throughput")


# Issue 19: batch 1 against llama.cpp Q4_K_M, batches 16 and 64 against turbine fp16.
TARGETS = {1: ("llama.cpp Q4_K_M", 2.0), 16: ("turbine fp16", 2.0), 64: ("turbine fp16", 1.3)}
fmt = lambda v: f"{v:.1f}" if v else "-"
print("| metric | turbine W4A16 | turbine fp16 | llama.cpp Q4_K_M | ratio | against | target |")
print("|---|---|---|---|---|---|---|")
for b, (name, target) in TARGETS.items():
    a, f, l = tok_s(awq, b), tok_s(fp16, b), q4.get(b)
    base = l if b == 1 else f
    r = a / base if a and base else None
    verdict = f"{r:.3f} | {name} | {target} {'pass' if r >= target else 'miss'}" if r else f"- | {name} | {target}"
    print(f"| decode tok/s, batch {b} | {fmt(a)} | {fmt(f)} | {fmt(l)} | {verdict} |")
