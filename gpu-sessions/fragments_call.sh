#!/bin/bash
# A device call (about 8 minutes on an H200) for variant builds of the wgmma 4-bit GEMM (the carried
# turbine-NAME, turbine_gpu_tests-NAME and int4_linear_bench-NAME other than exp and dq), most valuable
# first, saved into $OUT/s.tgz as each phase ends and every 15 s:
#   tests.txt     main's and each variant's tiled tests;
#   linear.txt    int4_linear_bench of main and the variants at 17-256 tokens, LINEAR_ROUNDS (2) rounds alternated,
#                 and the variants with 16-token tiles from 9 tokens;
#   ab.txt        W4A16 decode at batch 32 and 64 (BATCHES) of main and the variants on an 8-layer checkpoint
#                 of Llama-2-7B's shapes (made and rtn-packed while the phases above run), ROUNDS (2) rounds;
#   memcheck.txt  compute-sanitizer memcheck of each variant's TiledAgreesWithGemm/fp16;
#   occupancy.txt the wgmma kernel's resident blocks per SM and the clusters of 1-8 blocks the device
#                 holds, per token tile (the exp build of patches/2026-12-06-int4-wgmma-exp-splits-occupancy.patch);
#   plan.txt      main's int4_linear_bench at 32, 64 and 256 tokens beside the exp build's plan of 750a675;
#   t16.txt       main with the GEMV up to 8 tokens and the tiles from 9, beside its defaults, at 9 and 16 tokens;
#   dq.txt        the dq build's (patches/2026-12-06-int4-dequantize-row-stores.patch) tests of the
#                 dequantized path and its int4_linear_bench at 256 and 1024 tokens beside main's (dequant_us);
#                 these four SWEEP_ROUNDS (1) rounds each.
# Here: TURBINE_VARIANT_BUILD="exp=DIR dq=DIR NAME=DIR ..." gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/fragments_call.sh", carry=[".carry/pack"])
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz.part" -C /tmp s && mv "$OUT/s.tgz.part" "$OUT/s.tgz"; }
(while sleep 15; do save; done) > /dev/null 2>&1 &  # a call cut short keeps what its last phase had written
saver=$!
source gpu-sessions/unpack_carry.sh
B=.carry/bin M=/tmp/llama7b-8layers
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
make_8layer_checkpoint $O/prep.log &
prep=$!
others=$(ls $B | sed -n 's/^int4_linear_bench-//p' | grep -vx 'exp\|dq')
tiled='Dtypes/CudaInt4Linear.TiledAgreesWithGemm*:Int4Tiled*:Dtypes/CudaInt4Linear.RepeatsBitIdentically*'
for v in "" $others; do
  echo "== tests ${v:-main}"; timeout 90 $B/turbine_gpu_tests${v:+-$v} --gtest_filter="$tiled" 2>&1 | tail -3
done 2>&1 | tee $O/tests.txt; save
{ for r in $(seq ${LINEAR_ROUNDS:-2}); do for v in "" $others; do
    echo "== ${v:-main}, round $r"; timeout 60 $B/int4_linear_bench${v:+-$v} --tokens 17,32,64,256 --iterations 50
  done; done
  for v in "" $others; do
    echo "== ${v:-main}, 16-token tiles from 9 tokens"
    TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9 timeout 60 $B/int4_linear_bench${v:+-$v} --tokens 9,16 --iterations 50
  done; } 2>&1 | tee $O/linear.txt; save
wait $prep; echo "prep rc=$? at ${SECONDS}s" | tee -a $O/ab.txt
for r in $(seq ${ROUNDS:-2}); do for v in "" $others; do
  t=$(timeout 90 $B/turbine${v:+-$v} bench generate $M --batch ${BATCHES:-32,64} --input-len 128 --output-len 256 --warmup 1 \
    --dtype fp16 --json 2>> $O/bench.err |
    $PY -c "import sys, json; print(' '.join('%.1f' % json.loads(l)['decode_throughput'] for l in sys.stdin if l.strip()))")
  echo "${v:-main} $r (decode tok/s at batch ${BATCHES:-32,64}): $t" | tee -a $O/ab.txt
done; save; done
echo "ab at ${SECONDS}s"
export PATH=/usr/local/cuda/bin:$PATH
for v in $others; do
  echo "== memcheck $v"; timeout -k 5 90 compute-sanitizer --tool memcheck --print-limit 20 $B/turbine_gpu_tests-$v \
    --gtest_filter='Dtypes/CudaInt4Linear.TiledAgreesWithGemm/fp16' 2>&1 | grep -E "ERROR SUMMARY|PASSED|FAILED" | tail -3
done 2>&1 | tee $O/memcheck.txt
save
if [ -x $B/int4_linear_bench-exp ]; then
  TURBINE_EXP_OCCUPANCY=1 TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9 timeout 60 $B/int4_linear_bench-exp \
    --tokens 16,32,64 --iterations 2 2>&1 | grep occupancy | sort | uniq -c | tee $O/occupancy.txt
  for r in $(seq ${SWEEP_ROUNDS:-1}); do
    echo "== main, round $r"; timeout 60 $B/int4_linear_bench --tokens 32,64,256 --iterations 50
    echo "== t2c as measured (4 splits for qkv at 64), round $r"
    TURBINE_CUDA_INT4_TILED_MIN=17 timeout 60 $B/int4_linear_bench-exp --tokens 32,64,256 --iterations 50
  done 2>&1 | tee $O/plan.txt
  save
fi
for r in $(seq ${SWEEP_ROUNDS:-1}); do
  echo "== main, GEMV to 8, tiles from 9, round $r"
  TURBINE_CUDA_INT4_GEMV=8 TURBINE_CUDA_INT4_TILED_MIN=9 timeout 60 $B/int4_linear_bench --tokens 9,16 --iterations 50
  echo "== main, defaults (GEMV), round $r"; timeout 60 $B/int4_linear_bench --tokens 9,16 --iterations 50
done 2>&1 | tee $O/t16.txt
if [ -x $B/int4_linear_bench-dq ]; then
  { timeout 90 $B/turbine_gpu_tests-dq --gtest_filter='Dtypes/CudaInt4Linear.DequantizedGemmAgreesWithGemm*:Dtypes/CudaInt4Linear.RepeatsBitIdentically*' 2>&1 | tail -3
    for r in $(seq ${SWEEP_ROUNDS:-1}); do
      echo "== main, round $r"; timeout 60 $B/int4_linear_bench --tokens 256,1024 --iterations 20
      echo "== dq, round $r"; timeout 60 $B/int4_linear_bench-dq --tokens 256,1024 --iterations 20
    done; } 2>&1 | tee $O/dq.txt
fi
save
echo "done at ${SECONDS}s"; kill $saver; save
