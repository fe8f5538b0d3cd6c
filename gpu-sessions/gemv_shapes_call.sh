#!/bin/bash
# One short device call (about 3 minutes on an H100): int4_linear_bench's per-projection figures of a 7B
# layer at 1, 16 and 64 tokens, then ncu of the one-token GEMV on the o, gate_up and down projections
# (the qkv one is in results/2026-12-06-h100-fused), to say where the one-token layer loses bandwidth.
# Here: gpu-sessions/prepare_carry.sh; then run(command="bash gpu-sessions/gemv_shapes_call.sh",
# carry=[".carry/pack", ".carry/shared"]).
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
timeout 90 .carry/bin/int4_linear_bench --dtype float16 --tokens 1,16,64 --iterations 100 | tee $O/linear.txt; save
for p in gemv_t1_o:int4_gemv:1:0:10 gemv_t1_gate_up:int4_gemv:1:0:20 gemv_t1_down:int4_gemv:1:0:30; do
  gpu-sessions/ncu_int4_kernels.sh $O "$p"; save
done
