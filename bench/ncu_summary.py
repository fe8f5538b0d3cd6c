#!/usr/bin/env python3
# Sums ncu's gpu__time_duration per kernel name from `ncu --csv --metrics gpu__time_duration.sum`
# output, divided by a step count: where the GPU time of a decode or prefill step goes.
# Usage: ncu_summary.py NCU_CSV STEPS
import collections, csv, re, sys

# ncu's time units, in microseconds.
US_PER_UNIT = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3}


def read_rows(path):
    """The CSV's metric rows (header first), without ncu's own log lines."""
    with open(path, newline="") as f:
        return [r for r in csv.reader(f) if len(r) > 5]


def short_name(kernel, width=60):
    """A kernel's bare name: no namespace, template arguments or parameter list."""
    name = kernel.replace("(anonymous namespace)::", "").replace("<unnamed>::", "")
    return re.sub(r"^void ", "", name).split("(")[0].split("<")[0].split("::")[-1][:width]


def main(path, steps):
    totals, counts = collections.defaultdict(float), collections.Counter()
    rows = read_rows(path)
    header = rows[0]
    name_col, value_col, unit_col = (header.index(c) for c in ("Kernel Name", "Metric Value", "Metric Unit"))
    for r in rows[1:]:
        name = short_name(r[name_col])
        totals[name] += float(r[value_col].replace(",", "")) * US_PER_UNIT.get(r[unit_col], 1.0)
        counts[name] += 1
    all_us = sum(totals.values())
    print(f"GPU time per step: {all_us / steps / 1000:.3f} ms over {sum(counts.values()) / steps:.0f} kernels")
    for name, us in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {us / steps / 1000:8.3f} ms  {100 * us / all_us:5.1f}%  x{counts[name] / steps:5.0f}  {name}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
