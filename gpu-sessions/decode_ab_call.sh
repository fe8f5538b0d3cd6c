#!/bin/bash
# One device call after a change to the 4-bit decode path (about 6 minutes on an H100): the tests it
# touches (GTEST_FILTER overrides) and memcheck of the fused 4-bit ops, then W4A16 decode at batch 1
# and 16 of this build against the one carried as turbine-base and against itself with the fused ops
# off (TURBINE_CUDA_FUSED=0), alternated three times, on an 8-layer checkpoint of Llama-2-7B's
# shapes (bench/make_llama_checkpoint.py 7b, rtn-packed on the device in about 30 s: a decode step's
# per-layer kernels without the 32-layer model's 3 minutes of making and packing), then kernel
# timelines of this build at batch 1 and 16. A variant build carried as turbine-NAME with its
# turbine_gpu_tests-NAME (prepare_carry.sh's TURBINE_VARIANT_BUILD) runs the same tests and joins the
# A/B as NAME. Saved into $OUT/s.tgz after each phase.
# Here: TURBINE_BASE_BIN=path/to/base/turbine [TURBINE_VARIANT_BUILD=NAME=dir] gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/decode_ab_call.sh", carry=[".carry/pack", ".carry/shared"])
# Knobs: GTEST_FILTER (the tests; GTEST_FILTER_NAME for variant NAME's), MEMCHECK=0 and TIMELINES=0
# (skip those phases), MEMCHECK=variants (the variants' memcheck only), MEMCHECK_FILTER (its tests;
# MEMCHECK_FILTER_NAME for variant NAME's),
# MEMCHECK_TIMEOUT (each build's, 120 s), UNFUSED=0 (no fused-off run), ROUNDS (3),
# LINEAR_TOKENS (int4_linear_bench of each build at those token counts; TILED9=1 also with the tiled GEMM
# from 9 tokens), VARIANT_TIMELINES (the batch sizes of the variants' timelines, "16"; 0: none), BATCHES (the A/B's
# batch sizes, "1,16"), VARIANT_ENV_NAME (variables set for variant NAME's A/B and int4_linear_bench runs, e.g.
# "TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9"), LINEAR_EXTRA (arguments of one more
# int4_linear_bench of this build, e.g. "--shapes 21120x4096,22016x4096 --tokens 1,16"), LINEAR_FIRST=1
# (those two phases before the A/B, which needs the checkpoint: the kernels' figures first).
# (.carry-peer stays behind: with turbine-base packed, the llama.cpp source would pass 64 MiB).
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
b=.carry/bin M=/tmp/llama7b-8layers
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
make_8layer_checkpoint $O/prep.log &
prep=$!
filter=${GTEST_FILTER:-Dtypes/CudaInt4Fused.*:Dtypes/CudaInt4Linear.NormLinear*:Dtypes/CudaFused.*:CudaAwqPerplexity.Chunked*:Dtypes/CudaPdl.*}
variants=$(cd $b && ls turbine-* 2>/dev/null | grep -v '^turbine-base$' | sed 's/^turbine-//')
for t in "" $variants; do
  tests=$b/turbine_gpu_tests${t:+-$t} log=$O/tests${t:+-$t}.log
  [ -x "$tests" ] || continue
  vfilter=GTEST_FILTER_$t; vfilter=${t:+${!vfilter:-}}
  timeout 300 $tests --gtest_filter="${vfilter:-$filter}" > $log 2>&1
  echo "tests${t:+ $t} rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $log | head -20; save
done
export PATH=/usr/local/cuda/bin:$PATH
for t in "" $variants; do
  [ "${MEMCHECK:-1}" = 0 ] && break
  [ "${MEMCHECK:-1}" = variants ] && [ -z "$t" ] && continue
  tests=$b/turbine_gpu_tests${t:+-$t} log=$O/memcheck${t:+-$t}.log
  [ -x "$tests" ] || continue
  mfilter=MEMCHECK_FILTER_$t; mfilter=${t:+${!mfilter:-}}
  timeout -k 5 ${MEMCHECK_TIMEOUT:-120} compute-sanitizer --tool memcheck --print-limit 20 $tests \
    --gtest_filter="${mfilter:-${MEMCHECK_FILTER:-Dtypes/CudaInt4Fused.*}}" > $log 2>&1
  echo "memcheck${t:+ $t} rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $log | tail -3; save
done
linear_phases() {
  # LINEAR_TOKENS=1,16,...: int4_linear_bench of this build and each variant at those token counts
  # (alternated twice), and again with the tiled GEMM from 9 tokens (TILED9=1).
  if [ -n "${LINEAR_TOKENS:-}" ]; then
    for env in "" ${TILED9:+"TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9"}; do
      for round in 1 2; do for v in head $variants; do
        bin=$b/int4_linear_bench-$v; [ $v = head ] && bin=$b/int4_linear_bench
        [ -x "$bin" ] || continue
        venv=VARIANT_ENV_$v; venv=${!venv:-}  # a variant's environment applies here too (after TILED9's)
        echo "== $v $round ${env:-default} $venv" | tee -a $O/linear.txt
        env $env $venv timeout 90 $bin --dtype float16 --iterations 50 --tokens $LINEAR_TOKENS 2>&1 | tee -a $O/linear.txt
        save  # a call cut short keeps the rounds done
      done; done
    done
    echo "linear at ${SECONDS}s"
  fi
  # LINEAR_EXTRA="--shapes NxK,... --tokens ...": one more int4_linear_bench of this build, with those arguments.
  if [ -n "${LINEAR_EXTRA:-}" ]; then
    timeout 150 $b/int4_linear_bench --dtype float16 --iterations 50 $LINEAR_EXTRA 2>&1 | tee $O/linear_extra.txt
    echo "linear extra at ${SECONDS}s"; save
  fi
}
[ "${LINEAR_FIRST:-0}" != 0 ] && linear_phases
wait $prep; echo "prep rc=$? at ${SECONDS}s"; tail -1 $O/prep.log
unfused=unfused; [ "${UNFUSED:-1}" = 0 ] && unfused=
for round in $(seq ${ROUNDS:-3}); do for v in base head $unfused $variants; do
  bin=$b/turbine-$v fused=1; [ $v = head ] && bin=$b/turbine; [ $v = unfused ] && bin=$b/turbine fused=0
  [ -x "$bin" ] || continue
  venv=VARIANT_ENV_$v; venv=${!venv:-}  # VARIANT_ENV_NAME: variant NAME's environment in the A/B
  r=$(env $venv TURBINE_CUDA_FUSED=$fused "$bin" bench generate $M --batch ${BATCHES:-1,16} --input-len 128 --output-len 256 --warmup 1 \
    --dtype fp16 --json 2>> $O/bench.err |
    $PY -c "import sys, json; print(' '.join('%.1f' % json.loads(l)['decode_throughput'] for l in sys.stdin if l.strip()))")
  echo "$v $round (decode tok/s at batch ${BATCHES:-1,16}): $r" | tee -a $O/ab.txt
done; save; done
[ "${LINEAR_FIRST:-0}" = 0 ] && linear_phases
[ "${TIMELINES:-1}" = 0 ] && exit 0
MODEL_DIR=$M gpu-sessions/device_timeline.sh $O/tl "1 16" | grep -vE "^ *$" | head -30
echo "timeline at ${SECONDS}s"; save
for v in $variants; do
  [ "${VARIANT_TIMELINES:-16}" = 0 ] && break
  TURBINE_BIN=$b/turbine-$v MODEL_DIR=$M gpu-sessions/device_timeline.sh $O/tl-$v "${VARIANT_TIMELINES:-16}" |
    grep -vE "^ *$" | head -30
  echo "timeline $v at ${SECONDS}s"; save
done
