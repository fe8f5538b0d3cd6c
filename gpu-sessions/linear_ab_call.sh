#!/bin/bash
# One short device call for a change to the 4-bit kernels that needs no end-to-end run: int4_linear_bench
# of this build and of each variant build carried as int4_linear_bench-NAME (prepare_carry.sh's
# TURBINE_VARIANT_BUILD), alternated twice at TOKENS, then each variant's 4-bit linear tests (where its
# turbine_gpu_tests-NAME is carried), then memcheck of this build's 4-bit tests. Saved into $OUT/s.tgz
# after each phase.
# Here: TURBINE_VARIANT_BUILD="NAME=dir ..." gpu-sessions/prepare_carry.sh
# Then: run(command="TOKENS=1,8 bash gpu-sessions/linear_ab_call.sh", carry=[".carry/pack", ".carry/shared"])
# Knobs: TOKENS (1,8,16), GTEST_FILTER (Dtypes/CudaInt4Linear.*), MEMCHECK_FILTER (*Int4*; empty: none).
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
export PATH=/usr/local/cuda/bin:$PATH
b=.carry/bin
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
variants=$(cd $b && ls int4_linear_bench-* 2>/dev/null | sed 's/^int4_linear_bench-//')
for round in 1 2; do for v in head $variants; do
  bin=$b/int4_linear_bench; [ $v = head ] || bin=$b/int4_linear_bench-$v
  { echo "== $v $round"; timeout 60 $bin --dtype float16 --iterations 50 --tokens "${TOKENS:-1,8,16}" 2>&1; } >> $O/linear.txt
  save  # a call cut short keeps the rounds done
done; done
grep -E "^==|^layer" $O/linear.txt; echo "bench at ${SECONDS}s"
for v in $variants; do
  [ -x $b/turbine_gpu_tests-$v ] || continue
  timeout 120 $b/turbine_gpu_tests-$v --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Linear.*}" > $O/tests-$v.log 2>&1
  echo "tests $v rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $O/tests-$v.log | head; save
done
if [ -n "${MEMCHECK_FILTER-*Int4*}" ]; then
  timeout -k 5 150 compute-sanitizer --tool memcheck --print-limit 20 $b/turbine_gpu_tests \
    --gtest_filter="${MEMCHECK_FILTER-*Int4*}" > $O/memcheck.log 2>&1
  echo "memcheck rc=$? at ${SECONDS}s"; grep -E "ERROR SUMMARY|PASSED|FAILED" $O/memcheck.log | tail -4; save
fi
