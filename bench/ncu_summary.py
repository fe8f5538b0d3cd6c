#!/usr/bin/env python3
# Sums ncu's gpu__time_duration per kernel name from `ncu --csv --metrics gpu__time_duration.sum`
# output, divided by a step count: where the GPU time of a decode or prefill step goes.
# Usage: ncu_summary.py NCU_CSV STEPS
import collections, csv, re, sys

path, steps = sys.argv[1], float(sys.argv[2])
totals, counts = collections.defaultdict(float), collections.Counter()
with open(path, newline="") as f:
    rows = [r for r in csv.reader(f) if len(r) > 5]
header = rows[0]
name_col, value_col, unit_col = header.index("Kernel Name"), header.index("Metric Value"), header.index("Metric Unit")
scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3}
for r in rows[1:]:
    name = r[name_col].replace("(anonymous namespace)::", "").replace("<unnamed>::", "")
    name = re.sub(r"^void ", "", name).split("(")[0].split("<")[0].split("::")[-1][:60]
    totals[name] += float(r[value_col].replace(",", "")) * scale.get(r[unit_col], 1.0)
    counts[name] += 1
all_us = sum(totals.values())
print(f"GPU time per step: {all_us / steps / 1000:.3f} ms over {sum(counts.values()) / steps:.0f} kernels")
for name, us in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"  {us / steps / 1000:8.3f} ms  {100 * us / all_us:5.1f}%  x{counts[name] / steps:5.0f}  {name}")
