"""Reads compare_peers.sh's kvquant phase outputs in OUT_DIR (kvquant_<format>.json, one bench throughput
JSON object each) and prints each KV format's requests/s and KV blocks beside the unquantized run's, with
the ratio (three decimals) against issue 19's targets (int8 >= 1.25x, int4 >= 1.5x; fp8 has none), and
the batch its steps carried (mean / max, where the run reports it)."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
TARGETS = {"int8": 1.25, "int4": 1.5}


def load(kv):
    p = out / f"kvquant_{kv}.json"
    if not p.exists():
        return None
    lines = [l for l in p.read_text().splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


base = load("none")
print("| KV cache | requests/s | KV blocks | ratio to none | target | batch (mean / max) |")
print("|---|---|---|---|---|---|")
for kv in ("none", "int8", "int4", "fp8"):
    r = load(kv)
    rps = r["request_throughput"] if r else None
    blocks = r["kv_blocks"] if r else None
    ratio = rps / base["request_throughput"] if r and base and base["request_throughput"] else None
    target = TARGETS.get(kv)
    verdict = "-" if target is None else (f"{target}" if ratio is None else
                                          f"{target} {'pass' if ratio >= target else 'miss'}")
    # Where the cache bounded the batch, a quantized one carries more sequences a step.
    batch = f"{r['mean_batch']:.1f} / {r['max_batch']}" if r and "mean_batch" in r else "-"
    print(f"| {kv} | {f'{rps:.3f}' if rps else '-'} | {blocks if blocks else '-'} | "
          f"{f'{ratio:.3f}' if ratio else '-'} | {verdict} | {batch} |")
