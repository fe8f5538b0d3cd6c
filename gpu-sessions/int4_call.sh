#!/bin/bash
# One device call for the 4-bit kernels (about 6 minutes on an H100): their tests, int4_linear_bench of
# this build against the one carried as *-base (alternated twice), then W4A16 end to end beside turbine
# fp16 and llama.cpp Q4_K_M (gpu-sessions/awq_ratios.py's table), and the 4-bit perplexity tests last.
# llama.cpp compiles in the background from the start; the turbine runs note whether it had finished.
# Everything is saved into $OUT/s.tgz after each phase ($OUT returns at most 8 files; a call cut short
# keeps what was saved).
# Here: TURBINE_BASE_BUILD=/path/to/base/build-gpu gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/int4_call.sh", carry=[".carry/pack", ".carry/shared", ".carry-peer"])
# Knobs: GTEST_FILTER (the first tests, Dtypes/CudaInt4Linear.*), PERPLEXITY=0 (no perplexity tests at the end),
# BATCHES (turbine's batch sizes, 1,16,64). Variant builds carried as turbine-NAME (prepare_carry.sh's
# TURBINE_VARIANT_BUILD) also run W4A16 end to end, after this build, into e2e/turbine_awq-NAME.jsonl
# (VARIANTS="NAME ...": only those, VARIANTS=none: none; each takes about 75 s, most of it loading the model). A
# VARIANTS name with VARIANT_FLAGS_NAME="..." adds those flags to its bench generate, and without a turbine-NAME
# runs this build with them (VARIANTS=lh VARIANT_FLAGS_lh="--lm-head-quant int4"). TESTS=0 skips
# the first tests (after a decode_ab_call.sh call has run them).
set -u
O=/tmp/s; mkdir -p $O/e2e
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
gpu-sessions/compare_peers.sh $O/e2e build-peer > $O/e2e_build.log 2>&1
b=.carry/bin
if [ "${TESTS:-1}" != 0 ]; then
  timeout 120 $b/turbine_gpu_tests --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Linear.*}" > $O/tests.log 2>&1
  echo "tests rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $O/tests.log | head -20; save
fi
for round in 1 2; do for v in base head; do
  bin=$b/int4_linear_bench; [ $v = base ] && bin=$b/int4_linear_bench-base
  [ -x "$bin" ] || continue
  echo "== $v $round"; timeout 60 $bin --dtype float16 --iterations 50 --tokens 1,8,16,32,64 2>&1 | grep -E "layer"
done; done | tee $O/int4_ab.txt
echo "bench at ${SECONDS}s"; save
gpu-sessions/compare_peers.sh $O/e2e model convert-peer awq-prep > $O/e2e_prep.log 2>&1; echo "prep at ${SECONDS}s"; save
busy() { pgrep -f "llamacpp_peer.sh /nonexistent" > /dev/null && echo "llama.cpp still compiling" || echo "llama.cpp built"; }
for m in awq fp16; do
  model=/tmp/llama7b; out=turbine.jsonl; [ $m = awq ] && model=/tmp/llama7b-awq out=turbine_awq.jsonl
  echo "$m bench: $(busy)" | tee -a $O/e2e/state.txt
  "$TURBINE_BIN" bench generate $model --batch ${BATCHES:-1,16,64} --input-len 128 --output-len 256 --warmup 1 --dtype fp16 \
    --json 2>$O/e2e/${out%.jsonl}.err | tee $O/e2e/$out
  echo "$m at ${SECONDS}s"; save
done
for v in ${VARIANTS:-$(cd $b && ls turbine-* 2>/dev/null | grep -v '^turbine-base$' | sed 's/^turbine-//')}; do
  flags=VARIANT_FLAGS_$v; bin="$b/turbine-$v"
  [ -x "$bin" ] || { [ -n "${!flags:-}" ] && bin=$TURBINE_BIN; } || continue  # VARIANTS=none
  "$bin" bench generate /tmp/llama7b-awq --batch ${BATCHES:-1,16,64} --input-len 128 --output-len 256 \
    --warmup 1 --dtype fp16 --json ${!flags:-} 2>$O/e2e/turbine_awq-$v.err | tee $O/e2e/turbine_awq-$v.jsonl
  echo "awq $v at ${SECONDS}s"; save
done
gpu-sessions/compare_peers.sh $O/e2e llamacpp-q4 awq-table 2>&1 | tee $O/e2e_q4.log | tail -30; echo "q4 at ${SECONDS}s"; save
[ "${PERPLEXITY:-1}" = 0 ] && exit 0
timeout 100 $b/turbine_gpu_tests --gtest_filter="CudaAwqPerplexity.*" > $O/awq_tests.log 2>&1
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|perplexity" $O/awq_tests.log | head; save
