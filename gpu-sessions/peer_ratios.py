"""Reads compare_peers.sh's outputs in OUT_DIR and prints turbine's figures beside the peers' as a
markdown table (decode tok/s at batch 1/16/64 = llama-batched-bench S_TG; prefill 2048 in ms), with
the ratio to llama.cpp (three decimals, so a near miss is not rounded up to its target) against
issue 5's target ratio."""
import json, re, sys
from pathlib import Path

out = Path(sys.argv[1])

def jsonl(name):
    p = out / name
    return [json.loads(l) for l in p.read_text().splitlines() if l.startswith("{")] if p.exists() else []

turbine = {r["batch"]: r for r in jsonl("turbine.jsonl")}
prefill = jsonl("turbine_prefill.jsonl")
hf = {r["bs"]: r for r in jsonl("hf.jsonl")}
lc_tg, lc_pp = {}, None
p = out / "llamacpp_batched.md"
if p.exists():  # | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
    for line in p.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 8 and cells[0].isdigit():
            lc_tg.setdefault(int(cells[2]), float(cells[7]))
p = out / "llamacpp_bench.md"
if p.exists():  # llama-bench: ... | test | t/s |; pp2048 row -> ms for 2048 tokens
    for line in p.read_text().splitlines():
        m = re.search(r"\|\s*pp2048\s*\|\s*([\d.]+)", line)
        if m and lc_pp is None:
            lc_pp = 2048 / float(m.group(1)) * 1000

# Issue 5's targets: turbine / llama.cpp decode tok/s at batch 1, 16, 64, and prefill speed.
TARGETS = {1: 1.18, 16: 1.4, 64: 1.6, "prefill": 3.0}


def ratio(a, b):
    return a / b if a and b else None


def verdict(r, target):
    if r is None:
        return f"- | {target}"
    return f"{r:.3f} | {target} {'pass' if r >= target else 'miss'}"


fmt = lambda v: f"{v:.1f}" if v else "-"
print("| metric | turbine | llama.cpp | HF eager | turbine / llama.cpp | target |")
print("|---|---|---|---|---|---|")
for b in (1, 16, 64):
    t = turbine.get(b, {}).get("decode_throughput")
    l = lc_tg.get(b)
    h = hf.get(b, {}).get("out_tok_s")
    row = f"| decode tok/s, batch {b} | {fmt(t)} | {fmt(l)} | {fmt(h)} (end to end) |"
    print(f"{row} {verdict(ratio(t, l), TARGETS[b])} |")
tp = prefill[0]["first_token_latency_ms"]["p50"] if prefill else None
print(f"| prefill 2048 tokens, ms | {fmt(tp)} | {fmt(lc_pp)} | - | "
      f"{verdict(ratio(lc_pp, tp), TARGETS['prefill'])} (speed) |")
