#!/bin/bash
# A device call: the wgmma 4-bit GEMM's plan against forced split counts, the clusters' occupancy, and
# the 16-token tiles against the GEMV. Needs the experiment build of
# patches/2026-12-06-int4-wgmma-exp-splits-occupancy.patch (on 750a675) as variant "exp":
#   TURBINE_VARIANT_BUILD="exp=/work/var-exp" gpu-sessions/prepare_carry.sh; then run(carry=[".carry/pack"])
#   with "bash gpu-sessions/split_sweep_call.sh" (about 2 minutes on a warm H200).
# Writes occupancy.txt (resident blocks a SM and clusters of 1-8 blocks, per token tile), plan.txt (main's
# int4_linear_bench at 32, 64 and 256 tokens beside the experiment build's default plan, two rounds),
# t16.txt (main with the GEMV up to 8 tokens and the tiles from 9, beside its defaults, at 9 and 16
# tokens), dq.txt (the dq build's tests of the dequantized path and its int4_linear_bench at 256 and 1024
# tokens beside main's: the dequant_us column) and tests.txt into $OUT.
set -u
source gpu-sessions/unpack_carry.sh
B=.carry/bin
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/gpu.txt
TURBINE_EXP_OCCUPANCY=1 TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9 timeout 60 $B/int4_linear_bench-exp --tokens 16,32,64 --iterations 2 2>&1 | grep occupancy | sort | uniq -c | tee $OUT/occupancy.txt
for r in 1 2; do
  echo "== main, round $r"; timeout 60 $B/int4_linear_bench --tokens 32,64,256 --iterations 50
  echo "== t2c as measured (4 splits for qkv at 64), round $r"; TURBINE_CUDA_INT4_TILED_MIN=17 timeout 60 $B/int4_linear_bench-exp --tokens 32,64,256 --iterations 50
done 2>&1 | tee $OUT/plan.txt
for r in 1 2; do
  echo "== main, GEMV to 8, tiles from 9, round $r"; TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9 timeout 60 $B/int4_linear_bench --tokens 9,16 --iterations 50
  echo "== main, defaults (GEMV), round $r"; timeout 60 $B/int4_linear_bench --tokens 9,16 --iterations 50
done 2>&1 | tee $OUT/t16.txt
timeout 90 $B/turbine_gpu_tests --gtest_filter='Dtypes/CudaInt4Linear.TiledAgreesWithGemm*:Int4Tiled*' 2>&1 | tail -3 | tee $OUT/tests.txt
if [ -x $B/int4_linear_bench-dq ]; then
  { timeout 90 $B/turbine_gpu_tests-dq --gtest_filter='Dtypes/CudaInt4Linear.DequantizedGemmAgreesWithGemm*:Dtypes/CudaInt4Linear.RepeatsBitIdentically*' 2>&1 | tail -3
    for r in 1 2; do
      echo "== main, round $r"; timeout 60 $B/int4_linear_bench --tokens 256,1024 --iterations 20
      echo "== dq, round $r"; timeout 60 $B/int4_linear_bench-dq --tokens 256,1024 --iterations 20
    done; } 2>&1 | tee $OUT/dq.txt
fi
