#!/usr/bin/env python3
# Per-kernel GPU time of a decode step from
#   ncu --metrics gpu__time_duration.sum,launch__grid_size --csv ... turbine bench generate ...
# (steps = decode-attention launches / layers, so the launch window need not hold whole steps), plus the
# skinny GEMM's effective bandwidth per 7B shape (told apart by grid size and order within the layer).
# Usage: ncu_decode_summary.py NCU_CSV [LAYERS=32]
import collections, sys

from ncu_summary import US_PER_UNIT, read_rows, short_name

path, layers = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32
rows = read_rows(path)
h = rows[0]
ic, nc, mc, vc, uc = (h.index(c) for c in ("ID", "Kernel Name", "Metric Name", "Metric Value", "Metric Unit"))
launches = {}
for r in rows[1:]:
    d = launches.setdefault(r[ic], {"name": r[nc]})
    v = float(r[vc].replace(",", "")) if r[vc].replace(",", "").replace(".", "").isdigit() else 0.0
    if r[mc] == "gpu__time_duration.sum": d["us"] = v * US_PER_UNIT.get(r[uc], 1.0)
    if r[mc] == "launch__grid_size": d["grid"] = int(v)
tot, cnt = collections.defaultdict(float), collections.Counter()
gemm = collections.defaultdict(list)
prev = None
for d in launches.values():  # launch order
    name = short_name(d["name"], 50)
    us = d.get("us", 0.0)
    tot[name] += us; cnt[name] += 1
    if name == "skinny_gemm_kernel" and "grid" in d:
        g = d["grid"]
        key = {3072: "qkv 12288x4096", 5504: "gate_up 22016x4096", 8000: "lm_head 32000x4096"}.get(g)
        if key is None and g == 1024: key = "down 4096x11008" if prev == "gate_up 22016x4096" else "o 4096x4096"
        if key: gemm[key].append(us); prev = key
attn = [k for k in cnt if "decode" in k] or [k for k in cnt if "attention" in k]
steps = max(1.0, cnt[attn[0]] / layers) if attn else 1.0
allus = sum(tot.values())
print(f"steps {steps:.2f}; GPU time per step {allus/steps/1000:.3f} ms over {sum(cnt.values())/steps:.0f} kernels")
for k, v in sorted(tot.items(), key=lambda kv: -kv[1]):
    print(f"  {v/steps/1000:8.3f} ms {100*v/allus:5.1f}% x{cnt[k]/steps:5.0f} avg {v/cnt[k]:7.2f} us  {k}")
MB = {"qkv 12288x4096": 12288*4096*2, "o 4096x4096": 4096*4096*2, "gate_up 22016x4096": 22016*4096*2,
      "down 4096x11008": 4096*11008*2, "lm_head 32000x4096": 32000*4096*2}
for k, v in gemm.items():
    v = sorted(v); med = v[len(v)//2]
    print(f"  skinny {k:22s} n={len(v):3d} median {med:7.2f} us  {MB[k]/med/1e6:5.2f} TB/s")
