#!/bin/bash
# One device call after a change to the 4-bit decode path (about 8 minutes on an H100): the tests it
# touches (GTEST_FILTER overrides) and memcheck of the fused 4-bit ops, W4A16 decode end to end of this
# build against the one carried as turbine-base (alternated twice, on the rtn-packed 7B-shaped
# checkpoint, made in the background meanwhile), then kernel timelines of this build at batch 1 and 16.
# Saved into $OUT/s.tgz after each phase.
# Here: TURBINE_BASE_BIN=path/to/base/turbine gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/decode_ab_call.sh", carry=[".carry/pack", ".carry/shared", ".carry-peer"])
set -u
O=/tmp/s; mkdir -p $O/e2e
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
rm -rf .carry/bin .carry/lib /tmp/turbine-carry
mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
ln -sfn /tmp/turbine-carry/bin .carry/bin && ln -sfn /tmp/turbine-carry/lib .carry/lib
export LD_LIBRARY_PATH=$PWD/.carry/lib TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
export TURBINE_BIN=$PWD/.carry/bin/turbine BENCH_DIR=$PWD/.carry-peer
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
gpu-sessions/compare_peers.sh $O/prep model awq-prep > $O/prep.log 2>&1 &
prep=$!
b=.carry/bin
timeout 300 $b/turbine_gpu_tests \
  --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Fused.*:Dtypes/CudaInt4Linear.NormLinear*:Dtypes/CudaFused.*:CudaAwqPerplexity.Chunked*:Dtypes/CudaPdl.*}" \
  > $O/tests.log 2>&1
echo "tests rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $O/tests.log | head -20; save
export PATH=/usr/local/cuda/bin:$PATH
timeout -k 5 120 compute-sanitizer --tool memcheck --print-limit 20 $b/turbine_gpu_tests \
  --gtest_filter='Dtypes/CudaInt4Fused.*' > $O/memcheck.log 2>&1
echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $O/memcheck.log | tail -3; save
wait $prep; echo "prep at ${SECONDS}s"; tail -2 $O/prep.log
for round in 1 2; do for v in base head; do
  bin=$b/turbine; [ $v = base ] && bin=$b/turbine-base
  "$bin" bench generate /tmp/llama7b-awq --batch ${BATCHES:-1,16,64} --input-len 128 --output-len 256 --warmup 1 \
    --dtype fp16 --json 2> $O/e2e/${v}_$round.err > $O/e2e/${v}_$round.jsonl
  echo "== $v $round"; cat $O/e2e/${v}_$round.jsonl | cut -c1-300
done; done; echo "e2e at ${SECONDS}s"; save
MODEL_DIR=/tmp/llama7b-awq gpu-sessions/device_timeline.sh $O/tl "1 16" | grep -vE "^ *$" | head -40
echo "timeline at ${SECONDS}s"; save
