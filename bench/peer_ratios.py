"""Reads compare_peers.sh's outputs in OUT_DIR and prints turbine's figures beside the peers' as a
markdown table (decode tok/s at batch 1/16/64 = llama-batched-bench S_TG; prefill 2048 in ms)."""
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

def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"

print("| metric | turbine | llama.cpp | HF eager | turbine / llama.cpp |")
print("|---|---|---|---|---|")
for b in (1, 16, 64):
    t = turbine.get(b, {}).get("decode_throughput")
    l = lc_tg.get(b)
    h = hf.get(b, {}).get("out_tok_s")
    fmt = lambda v: f"{v:.1f}" if v else "-"
    print(f"| decode tok/s, batch {b} | {fmt(t)} | {fmt(l)} | {fmt(h)} (end to end) | {ratio(t, l)} |")
tp = prefill[0]["first_token_latency_ms"]["p50"] if prefill else None
print(f"| prefill 2048 tokens, ms | {tp:.1f} | {lc_pp:.1f} | - | {ratio(lc_pp, tp)} (speed) |" if tp and lc_pp
      else f"| prefill 2048 tokens, ms | {tp} | {lc_pp} | - | - |")
