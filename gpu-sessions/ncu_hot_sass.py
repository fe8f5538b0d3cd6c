"""Prints the hottest SASS lines of a kernel from `ncu -i REP --page source --csv --print-source sass`:
the N lines with the most warp-stall samples, each with its position, how often it executed and its
samples, then the samples summed by opcode. Used by device_session.sh's ncu-gemv part.
Usage: python3 ncu_hot_sass.py SOURCE.csv [N]"""
import csv
import sys
from collections import Counter

path, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
rows = list(csv.reader(open(path)))
# The first row names the kernel; the second is the header.
header, data = rows[1], rows[2:]
src = header.index("Source")
samples = header.index("Warp Stall Sampling (All Samples)")
executed = header.index("Instructions Executed")


def count(row, column):
    return int(row[column] or 0)


total = sum(count(r, samples) for r in data)
print(f"# {rows[0][1] if len(rows[0]) > 1 else ''}: {len(data)} SASS lines, {total} stall samples, "
      f"{sum(count(r, executed) for r in data)} warp instructions executed")
print("# line executed samples instruction")
for i, r in sorted(enumerate(data), key=lambda e: -count(e[1], samples))[:top]:
    print(f"{i:5d} {count(r, executed):9d} {count(r, samples):6d} {r[src].strip()}")
by_opcode = Counter()
for r in data:
    words = r[src].split()
    if words:
        opcode = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
        by_opcode[opcode.split(".")[0]] += count(r, samples)
print("# samples by opcode:", ", ".join(f"{op} {n}" for op, n in by_opcode.most_common(12)))
