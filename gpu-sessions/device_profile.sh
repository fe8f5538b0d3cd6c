#!/bin/bash
# One device call: where a decode step's GPU time goes (ncu per-kernel sums) beside the wall-clock
# bench, for the 7B-shaped checkpoint. Usage (device machine, from the checkout):
#   gpu-sessions/device_profile.sh TURBINE_BIN OUT_DIR [batches]
set -u
BIN=$1; O=$2; BATCHES=${3:-"1 64"}
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
MODEL=${MODEL_DIR:-/tmp/llama7b}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
[ -f "$MODEL/config.json" ] || $PY .carry-peer/make_llama7b.py "$MODEL" models/kjv-llama/tokenizer.model > "$O/make_model.log" 2>&1
"$BIN" bench generate "$MODEL" --batch 1,16,64 --input-len 128 --output-len 256 --warmup 1 --dtype fp16 2>&1 | tee "$O/gen.txt"
"$BIN" bench generate "$MODEL" --batch 1 --input-len 2048 --output-len 1 --warmup 2 --rounds 5 --dtype fp16 2>&1 | tee "$O/prefill.txt"
for b in $BATCHES; do
  # Skip loading, the prefill and the first decode steps; then sum the kernels of two decode steps.
  ncu --metrics gpu__time_duration.sum --csv --launch-skip 1200 --launch-count 660 "$BIN" bench generate "$MODEL" \
    --batch "$b" --input-len 128 --output-len 12 --warmup 0 --rounds 1 --dtype fp16 > "$O/ncu_b$b.csv" 2>/dev/null
  echo "== batch $b decode"; $PY bench/ncu_summary.py "$O/ncu_b$b.csv" 2 | head -16
done
ncu --metrics gpu__time_duration.sum --csv --launch-count 400 "$BIN" bench generate "$MODEL" --batch 1 --input-len 2048 \
  --output-len 1 --warmup 0 --rounds 1 --dtype fp16 > "$O/ncu_prefill.csv" 2>/dev/null
echo "== prefill 2048"; $PY bench/ncu_summary.py "$O/ncu_prefill.csv" 1 | head -12
