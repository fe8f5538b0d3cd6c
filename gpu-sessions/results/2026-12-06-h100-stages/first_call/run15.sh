#!/bin/bash
# Eleventh session (gemv-stages): the GEMV with 4-chunk stages. Bench A/B first (results straight to $OUT),
# then its tests, memcheck, ncu at one token.
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf $OUT/s.tgz -C /tmp s; }  # $OUT returns at most 8 files
rm -rf .carry/bin .carry/lib /tmp/turbine-carry; mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry; ln -sfn /tmp/turbine-carry/bin .carry/bin; ln -sfn /tmp/turbine-carry/lib .carry/lib
export LD_LIBRARY_PATH=$PWD/.carry/lib TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
b=.carry/bin
for round in 1 2; do for v in base head s2; do
  bin=$b/int4_linear_bench; [ $v = base ] && bin=$b/int4_linear_bench-base; [ $v = s2 ] && bin=$b/int4_linear_bench-s2
  echo "== $v $round"; TURBINE_CUDA_INT4_TILED=0 timeout 60 $bin --dtype float16 --iterations 50 --tokens 1,2,4,8,12,16 2>&1 | grep -E "layer|tokens"
done; done | tee $O/int4_ab.txt
echo "bench at ${SECONDS}s"; save
timeout 200 $b/turbine_gpu_tests --gtest_filter="Dtypes/CudaInt4Linear.*:CudaAwqPerplexity.*:Dtypes/CudaPdl.*" > $O/tests.log 2>&1
echo "tests rc=$? at ${SECONDS}s"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $O/tests.log | head -30
timeout -k 5 100 compute-sanitizer --tool memcheck --print-limit 20 $b/turbine_gpu_tests \
  --gtest_filter='Dtypes/CudaInt4Linear.MatchesDequantizedCpu*:Dtypes/CudaInt4Linear.GemvAgreesWithGemm*' > $O/memcheck.log 2>&1
echo "memcheck rc=$? at ${SECONDS}s"; grep -E "ERROR SUMMARY|PASSED|FAILED" $O/memcheck.log | tail -3; save
for v in base head; do
  bin=$b/int4_linear_bench; [ $v = base ] && bin=$b/int4_linear_bench-base
  echo "== bf16 $v"; TURBINE_CUDA_INT4_TILED=0 timeout 60 $bin --dtype bfloat16 --iterations 50 --tokens 1,8,16 2>&1 | grep -E "layer"
done | tee $O/int4_bf16.txt; save
export PATH=/usr/local/cuda/bin:$PATH
for t in 1 16 64; do
  kern=int4_gemv; tiled=0; [ $t = 64 ] && kern=int4_tiled && tiled=1
  TURBINE_CUDA_INT4_TILED=$tiled timeout 90 ncu --set full --import-source yes -k regex:$kern -c 1 --export $O/gemv_t$t $b/int4_linear_bench --tokens $t --iterations 2 > $O/ncu_t${t}_run.log 2>&1
  ncu -i $O/gemv_t$t.ncu-rep --page details > $O/ncu_t$t.txt 2>&1
  ncu -i $O/gemv_t$t.ncu-rep --page source --csv --print-source sass > $O/ncu_t${t}_src.csv 2>&1; rm -f $O/gemv_t$t.ncu-rep
  grep -E "Duration|DRAM Throughput|Issued Warp|Registers Per|Executed Instructions  |Achieved Occ|L1/TEX Hit" $O/ncu_t$t.txt
  python3 gpu-sessions/ncu_hot_sass.py $O/ncu_t${t}_src.csv 30 > $O/ncu_t${t}_hot.txt; head -12 $O/ncu_t${t}_hot.txt | cut -c1-180
  xz -9 $O/ncu_t${t}_src.csv; save
done
echo "done at ${SECONDS}s"
