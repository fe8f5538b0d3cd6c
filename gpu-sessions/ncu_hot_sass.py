"""Prints the hottest SASS lines of a kernel from `ncu -i REP --page source --csv --print-source sass`:
the N lines with the most warp-stall samples, each with its position, how often it executed, its
samples and (where the report has a column per stall reason) its three largest reasons, then the
samples and the executed warp instructions summed by opcode (what a kernel's instructions go to: the
dequantization against the copies' index arithmetic, say). Used by ncu_int4_kernels.sh.
Usage: python3 ncu_hot_sass.py SOURCE.csv [N]"""
import csv
import sys
from collections import Counter

path, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
rows = list(csv.reader(open(path)))
# The first row names the kernel; the second is the header. Without them ncu profiled nothing (the
# file then holds its message, e.g. "No kernels were profiled").
if len(rows) < 2 or "Source" not in rows[1]:
    first = rows[0][0] if rows and rows[0] else "an empty file"
    sys.exit(f"{path}: no SASS table ({first})")
header, data = rows[1], rows[2:]
src = header.index("Source")
samples = header.index("Warp Stall Sampling (All Samples)")
executed = header.index("Instructions Executed")
# Columns of single stall reasons, where the report has them (not the two totals).
reasons = [i for i, h in enumerate(header)
           if "stall" in h.lower() and i != samples and "All Samples" not in h and "Not-issued" not in h]


def count(row, column):
    try:
        return int(float(row[column] or 0))
    except ValueError:
        return 0


total = sum(count(r, samples) for r in data)
print(f"# {rows[0][1] if len(rows[0]) > 1 else ''}: {len(data)} SASS lines, {total} stall samples, "
      f"{sum(count(r, executed) for r in data)} warp instructions executed")
print("# line executed samples instruction")
for i, r in sorted(enumerate(data), key=lambda e: -count(e[1], samples))[:top]:
    top_reasons = sorted(((count(r, c), header[c]) for c in reasons), reverse=True)[:3]
    why = "; ".join(f"{name} {n}" for n, name in top_reasons if n > 0)
    print(f"{i:5d} {count(r, executed):9d} {count(r, samples):6d} {r[src].strip()}" + (f"   [{why}]" if why else ""))
by_opcode, executed_by_opcode = Counter(), Counter()
for r in data:
    words = r[src].split()
    if words:
        opcode = (words[1] if words[0].startswith("@") and len(words) > 1 else words[0]).split(".")[0]
        by_opcode[opcode] += count(r, samples)
        executed_by_opcode[opcode] += count(r, executed)
print("# samples by opcode:", ", ".join(f"{op} {n}" for op, n in by_opcode.most_common(12)))
executed_total = max(1, sum(executed_by_opcode.values()))
print("# executed by opcode:", ", ".join(f"{op} {100.0 * n / executed_total:.1f}%"
                                         for op, n in executed_by_opcode.most_common(16)))
