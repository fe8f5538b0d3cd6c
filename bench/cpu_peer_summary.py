#!/usr/bin/python3
"""Medians and ratios of bench/cpu_peer_compare.sh's rounds (OUT_DIR RUNS) as a Markdown table.

llama.cpp: decode tok/s from llama-batched-bench's S_TG column at B = 1 and 16; prefill from
llama-bench's pp128 / pp512 rows (ms = tokens / t/s). turbine: decode_throughput of `bench generate`
at batch 1 and 16; prefill = the median first-token latency at batch 1 over the rounds of a prefill-only
run (the prompt's forward pass and the first argmax; 5 rounds for 128 tokens and 3 for 512, as llama-bench
averages 5 and 3 repetitions). Rounds from before the 128-token prefill run had its own file fall back
to the decode run's single first-token latency. A second table compares turbine's W4A16 decode (w4a16.json,
the model quantized with --method rtn) with its 16-bit decode, for the rounds that have it."""
import json
import statistics
import sys
from pathlib import Path


def table_rows(path):
    """The data rows of a Markdown table as lists of stripped cells (header and rule rows dropped)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if not cells or set(cells[0]) <= set('-: ') or not any(ch.isdigit() for ch in line):
            continue
        rows.append(cells)
    return rows


def header(path):
    for line in Path(path).read_text().splitlines():
        if line.startswith('|'):
            return [c.strip() for c in line.strip().strip('|').split('|')]
    return []


def llama_bench_tps(path, test):
    cols = header(path)
    for r in table_rows(path):
        if len(r) == len(cols) and r[cols.index('test')] == test:
            return float(r[cols.index('t/s')].split()[0])
    raise SystemExit(f'{path}: no {test} row')


def batched_tg_tps(path, batch):
    cols = header(path)
    for r in table_rows(path):
        if len(r) == len(cols) and r[cols.index('B')] == str(batch):
            return float(r[cols.index('S_TG t/s')])
    raise SystemExit(f'{path}: no B={batch} row')


def turbine_rows(path):
    return {j['batch']: j for j in (json.loads(l) for l in Path(path).read_text().splitlines() if l.strip())}


def main():
    out, runs = Path(sys.argv[1]), int(sys.argv[2])
    figures = {k: ([], []) for k in ('decode b1 tok/s', 'decode b16 tok/s', 'prefill 128 ms', 'prefill 512 ms')}
    for i in range(1, runs + 1):
        lc, tb = out / f'llamacpp-{i}', out / f'turbine-{i}'
        gen, pp = turbine_rows(tb / 'generate.json'), turbine_rows(tb / 'pp512.json')
        pp128 = turbine_rows(tb / 'pp128.json') if (tb / 'pp128.json').exists() else gen
        pairs = {
            'decode b1 tok/s': (gen[1]['decode_throughput'], batched_tg_tps(lc / 'llamacpp_cpu_batched.md', 1)),
            'decode b16 tok/s': (gen[16]['decode_throughput'], batched_tg_tps(lc / 'llamacpp_cpu_batched.md', 16)),
            'prefill 128 ms': (pp128[1]['first_token_latency_ms']['p50'],
                               128 / llama_bench_tps(lc / 'llamacpp_cpu_bench.md', 'pp128') * 1000),
            'prefill 512 ms': (pp[1]['first_token_latency_ms']['p50'],
                               512 / llama_bench_tps(lc / 'pp512.md', 'pp512') * 1000),
        }
        for k, (t, l) in pairs.items():
            figures[k][0].append(t)
            figures[k][1].append(l)
    print(f'median of {runs} alternated rounds ({out})\n')
    print('| figure | turbine | llama.cpp | turbine / llama.cpp (speed) | turbine rounds |')
    print('|---|---|---|---|---|')
    for k, (t, l) in figures.items():
        mt, ml = statistics.median(t), statistics.median(l)
        ratio = ml / mt if k.endswith('ms') else mt / ml  # > 1: turbine faster
        rounds = ', '.join(f'{v:.1f}' for v in t)
        print(f'| {k} | {mt:.1f} | {ml:.1f} | {ratio:.2f}x | {rounds} |')
    w4a16_table(out, runs)


def w4a16_table(out, runs):
    """W4A16 decode (the RTN copy of the model) against turbine's 16-bit decode, for rounds that have it."""
    files = [(out / f'turbine-{i}' / 'w4a16.json', out / f'turbine-{i}' / 'generate.json') for i in range(1, runs + 1)]
    files = [(q, d) for q, d in files if q.exists()]
    if not files:
        return
    print(f'\nW4A16 (round-to-nearest, group 128) against 16-bit weights, turbine, {len(files)} rounds\n')
    print('| decode tok/s | W4A16 | 16-bit | W4A16 / 16-bit | W4A16 rounds |')
    print('|---|---|---|---|---|')
    for batch in (1, 16):
        q = [turbine_rows(a)[batch]['decode_throughput'] for a, _ in files]
        d = [turbine_rows(b)[batch]['decode_throughput'] for _, b in files]
        rounds = ', '.join(f'{v:.1f}' for v in q)
        print(f'| batch {batch} | {statistics.median(q):.1f} | {statistics.median(d):.1f} | '
              f'{statistics.median(q) / statistics.median(d):.2f}x | {rounds} |')


if __name__ == '__main__':
    main()
