#!/bin/bash
# One device call after a change to the 4-bit decode path (about 6 minutes on an H100): the tests it
# touches (GTEST_FILTER overrides) and memcheck of the fused 4-bit ops, then W4A16 decode at batch 1
# and 16 of this build against the one carried as turbine-base and against itself with the fused ops
# off (TURBINE_CUDA_FUSED=0), alternated three times, on an 8-layer checkpoint of Llama-2-7B's
# shapes (bench/make_llama_checkpoint.py 7b, rtn-packed on the device in about 30 s: a decode step's
# per-layer kernels without the 32-layer model's 3 minutes of making and packing), then kernel
# timelines of this build at batch 1 and 16. Saved into $OUT/s.tgz after each phase.
# Here: TURBINE_BASE_BIN=path/to/base/turbine gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/decode_ab_call.sh", carry=[".carry/pack", ".carry/shared"])
# (.carry-peer stays behind: with turbine-base packed, the llama.cpp source would pass 64 MiB).
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
b=.carry/bin M=/tmp/llama7b-8layers
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
($PY bench/make_llama_checkpoint.py $M-bf16 models/kjv-llama 8 7b &&
  $b/turbine quantize awq $M-bf16 --method rtn --out $M) > $O/prep.log 2>&1 &
prep=$!
timeout 300 $b/turbine_gpu_tests \
  --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Fused.*:Dtypes/CudaInt4Linear.NormLinear*:Dtypes/CudaFused.*:CudaAwqPerplexity.Chunked*:Dtypes/CudaPdl.*}" \
  > $O/tests.log 2>&1
echo "tests rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $O/tests.log | head -20; save
export PATH=/usr/local/cuda/bin:$PATH
timeout -k 5 120 compute-sanitizer --tool memcheck --print-limit 20 $b/turbine_gpu_tests \
  --gtest_filter='Dtypes/CudaInt4Fused.*' > $O/memcheck.log 2>&1
echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $O/memcheck.log | tail -3; save
wait $prep; echo "prep rc=$? at ${SECONDS}s"; tail -1 $O/prep.log
for round in 1 2 3; do for v in base head unfused; do
  bin=$b/turbine fused=1; [ $v = base ] && bin=$b/turbine-base; [ $v = unfused ] && fused=0
  [ -x "$bin" ] || continue
  r=$(TURBINE_CUDA_FUSED=$fused "$bin" bench generate $M --batch 1,16 --input-len 128 --output-len 256 --warmup 1 \
    --dtype fp16 --json 2>> $O/bench.err |
    $PY -c "import sys, json; print(' '.join('%.1f' % json.loads(l)['decode_throughput'] for l in sys.stdin if l.strip()))")
  echo "$v $round (decode tok/s at batch 1, 16): $r" | tee -a $O/ab.txt
done; save; done
MODEL_DIR=$M gpu-sessions/device_timeline.sh $O/tl "1 16" | grep -vE "^ *$" | head -30
echo "timeline at ${SECONDS}s"; save
