#!/bin/bash
# One device call: a kernel timeline of decode (bench/kernel_timeline.cpp through the CUDA driver's
# injection hook) summarised per op by bench/timeline_summary.py, for the 7B-shaped checkpoint.
# Usage (device machine, from the checkout): gpu-sessions/device_session.sh OUT timeline, which unpacks
# .carry and sets the library path, then calls gpu-sessions/device_timeline.sh OUT_DIR [batches]
# (TURBINE_BIN names another carried turbine to trace).
# Tracing adds host time between steps (the "host gap" it reports is not the untraced one); the
# span of a step's kernels was within 0.5% of an untraced step at batch 1 and 16, 4% less at 64.
set -u
O=$1; BATCHES=${2:-"1 16 64"}
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
MODEL=${MODEL_DIR:-/tmp/llama7b}
LIB=$(readlink -f .carry/lib/libkernel_timeline.so)
mkdir -p "$O"
[ -f "$MODEL/config.json" ] ||
  $PY .carry-peer/make_llama7b.py "$MODEL" models/kjv-llama/tokenizer.model > "$O/make_model.log" 2>&1
for b in $BATCHES; do
  CUDA_INJECTION64_PATH=$LIB TURBINE_TIMELINE=/tmp/timeline_b$b.csv ${TURBINE_BIN:-.carry/bin/turbine} bench generate "$MODEL" \
    --batch "$b" --input-len 128 --output-len 96 --warmup 0 --dtype fp16 > /dev/null 2> "$O/timeline_b$b.err"
  $PY bench/timeline_summary.py /tmp/timeline_b$b.csv 60 | tee "$O/timeline_b$b.txt"
done
