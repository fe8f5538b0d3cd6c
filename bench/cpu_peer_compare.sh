#!/bin/bash
# turbine's CPU backend against llama.cpp's CPU build on the same model, alternated in one run.
#
# Usage: bench/cpu_peer_compare.sh [OUT_DIR] [RUNS]     (defaults: /tmp/cpu-peer-compare, 5)
#   Run from the project root after building (build/turbine). Each of RUNS rounds runs, one after the
#   other: ../shared/bench/llamacpp_cpu_peer.sh (llama-bench pp128/tg128 and llama-batched-bench 128 in /
#   128 out at batch 1, 4, 16 on kjv-llama-bf16.gguf; its first call builds llama.cpp, ~8 min on 2
#   cores, cached in /tmp/lc-cpu), llama-bench pp512, then `turbine bench generate --device cpu` at
#   batch 1 and 16 (128 in, 128 out), a 128-token prefill (5 rounds) and a 512-token prefill (3 rounds),
#   as many repetitions as llama-bench's pp128 (-r 5) and pp512 (-r 3), and the W4A16 copy of the model
#   (`quantize awq --method rtn`, made once per run) at batch 1 and 16. bench/cpu_peer_summary.py prints
#   the medians over the rounds and the turbine / llama.cpp ratios (decode batch 1 and 16, prefill 128
#   and 512; above 1 means turbine is faster), then W4A16 decode against turbine's 16-bit decode.
# Extra flags for turbine (e.g. --cpu-isa avx2, --cpu-weights f32) come from TURBINE_FLAGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TURBINE_SHARED:-$root/../shared}
out=${1:-/tmp/cpu-peer-compare}
runs=${2:-5}
model=$shared/models/kjv-llama
gguf=$shared/bench/kjv-llama-bf16.gguf
turbine=$root/build/turbine
flags=${TURBINE_FLAGS:-}
[ -x "$turbine" ] || { echo "error: $turbine not built (cmake --build build)" >&2; exit 1; }
[ -d "$model" ] || { echo "error: no model at $model (set TURBINE_SHARED)" >&2; exit 1; }
mkdir -p "$out"
# W4A16: kjv-llama's projections in 4 bits (round-to-nearest, group 128), timed beside the 16-bit model.
rm -rf "$out/kjv-w4a16"
"$turbine" quantize awq "$model" --method rtn --out "$out/kjv-w4a16" > /dev/null
{ date -u; lscpu | grep 'Model name'; nproc; git -C "$root" log -1 --format='%h %s'; } > "$out/machine.txt"

for i in $(seq 1 "$runs"); do
  echo "== round $i of $runs: llama.cpp" >&2
  mkdir -p "$out/llamacpp-$i" "$out/turbine-$i"
  bash "$shared/bench/llamacpp_cpu_peer.sh" "$out/llamacpp-$i" "$gguf" > /dev/null
  /tmp/lc-cpu/build/bin/llama-bench -m "$gguf" -t "$(nproc)" -p 512 -n 0 -r 3 </dev/null 2>/dev/null \
    | grep '^|' > "$out/llamacpp-$i/pp512.md"
  echo "== round $i of $runs: turbine" >&2
  # shellcheck disable=SC2086
  "$turbine" bench generate "$model" --device cpu --batch 1,16 --input-len 128 --output-len 128 --json $flags \
    > "$out/turbine-$i/generate.json"
  # shellcheck disable=SC2086
  "$turbine" bench generate "$out/kjv-w4a16" --device cpu --batch 1,16 --input-len 128 --output-len 128 --json \
    $flags > "$out/turbine-$i/w4a16.json"
  # Prefill is timed over as many repetitions as llama-bench's (-r 5 for pp128, -r 3 for pp512).
  # shellcheck disable=SC2086
  "$turbine" bench generate "$model" --device cpu --batch 1 --input-len 128 --output-len 1 --rounds 5 --json \
    $flags > "$out/turbine-$i/pp128.json"
  # shellcheck disable=SC2086
  "$turbine" bench generate "$model" --device cpu --batch 1 --input-len 512 --output-len 1 --rounds 3 --json \
    $flags > "$out/turbine-$i/pp512.json"
done
/usr/bin/python3 "$root/bench/cpu_peer_summary.py" "$out" "$runs" | tee "$out/summary.md"
