#!/bin/bash
# On the device, from the checkout (binaries unpacked into .carry/bin): ncu (--set full) of the first
# launch of each named 4-bit kernel in int4_linear_bench, its details page, its hottest SASS lines
# (gpu-sessions/ncu_hot_sass.py) and the whole SASS with its samples, xz'd.
# Usage: gpu-sessions/ncu_int4_kernels.sh OUT [NAME:KERNEL_REGEX:TOKENS:TILED[:SKIP] ...]
#   (default: the GEMV at 1 and 16 tokens, the tiled GEMM at 64; TILED sets TURBINE_CUDA_INT4_TILED; SKIP
#   matching launches go by first: with --iterations 2 each of the bench's four 7B shapes (qkv, o,
#   gate_up, down) launches a kernel 10 times, so SKIP 10 / 20 / 30 profiles o / gate_up / down)
# After each profile it evaluates $AFTER_EACH if set (profile_call.sh saves its results there).
set -u
O=$1; shift
[ $# -gt 0 ] || set -- gemv_t1:int4_gemv:1:0 gemv_t16:int4_gemv:16:0 tiled_t64:int4_tiled:64:1
export PATH=/usr/local/cuda/bin:$PATH
for profile in "$@"; do
  IFS=: read -r name kernel tokens tiled skip <<< "$profile"
  TURBINE_CUDA_INT4_TILED=$tiled timeout 100 ncu --set full --import-source yes -k "regex:$kernel" --launch-skip "${skip:-0}" -c 1 \
    --export "$O/$name" .carry/bin/int4_linear_bench --tokens "$tokens" --iterations 2 > "$O/ncu_${name}_run.log" 2>&1
  echo "ncu $name rc=$?"
  ncu -i "$O/$name.ncu-rep" --page details > "$O/ncu_$name.txt" 2>&1
  ncu -i "$O/$name.ncu-rep" --page source --csv --print-source sass > "$O/ncu_${name}_source.csv" 2>&1
  rm -f "$O/$name.ncu-rep"
  grep -E "Duration|DRAM Throughput|L1/TEX Hit|L2 Hit|Issued Warp|Registers Per|Eligible Warps|Executed Instructions  |Achieved Occ" \
    "$O/ncu_$name.txt"
  python3 gpu-sessions/ncu_hot_sass.py "$O/ncu_${name}_source.csv" 30 > "$O/ncu_${name}_hot.txt"
  head -14 "$O/ncu_${name}_hot.txt" | cut -c1-200; tail -1 "$O/ncu_${name}_hot.txt"
  xz -9 "$O/ncu_${name}_source.csv"
  if [ -n "${AFTER_EACH:-}" ]; then eval "$AFTER_EACH"; fi
done
