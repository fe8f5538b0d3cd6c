#!/bin/bash
# One device call (about 5 minutes on an H100): where W4A16 decode time goes. Kernel timelines of
# decode on the rtn-packed 7B-shaped checkpoint at batch 1, 16 and 64 and of fp16 at batch 1
# (gpu-sessions/device_timeline.sh), the 4-bit perplexity tests, then ncu of the GEMV at 1 and 16
# tokens and the tiled GEMM at 64. Saved into $OUT/s.tgz after each phase.
# Here: gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/profile_call.sh", carry=[".carry/pack", ".carry/shared", ".carry-peer"])
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
rm -rf .carry/bin .carry/lib /tmp/turbine-carry
mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
ln -sfn /tmp/turbine-carry/bin .carry/bin && ln -sfn /tmp/turbine-carry/lib .carry/lib
export LD_LIBRARY_PATH=$PWD/.carry/lib TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
export TURBINE_BIN=$PWD/.carry/bin/turbine BENCH_DIR=$PWD/.carry-peer
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
gpu-sessions/compare_peers.sh $O/prep model awq-prep > $O/prep.log 2>&1; echo "prep at ${SECONDS}s"
MODEL_DIR=/tmp/llama7b-awq gpu-sessions/device_timeline.sh $O/tl_awq "${BATCHES:-1 16 64}" | grep -vE "^ *$" | head -80
echo "awq timeline at ${SECONDS}s"; save
MODEL_DIR=/tmp/llama7b gpu-sessions/device_timeline.sh $O/tl_fp16 1 | head -30; echo "fp16 timeline at ${SECONDS}s"; save
b=.carry/bin
timeout 100 $b/turbine_gpu_tests --gtest_filter="CudaAwqPerplexity.*:Dtypes/CudaInt4Linear.*:Dtypes/CudaPdl.*" > $O/tests.log 2>&1
echo "tests rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $O/tests.log | head; save
export PATH=/usr/local/cuda/bin:$PATH
for profile in ${PROFILES:-"gemv_t1:int4_gemv:1:0" "gemv_t16:int4_gemv:16:0" "tiled_t64:int4_tiled:64:1"}; do
  IFS=: read -r name kernel tokens tiled <<< "$profile"  # name, kernel regex, tokens, tiled switch
  TURBINE_CUDA_INT4_TILED=$tiled timeout 100 ncu --set full --import-source yes -k "regex:$kernel" -c 1 \
    --export "$O/$name" $b/int4_linear_bench --tokens "$tokens" --iterations 2 > "$O/ncu_${name}_run.log" 2>&1
  echo "ncu $name rc=$?"
  ncu -i "$O/$name.ncu-rep" --page details > "$O/ncu_$name.txt" 2>&1
  ncu -i "$O/$name.ncu-rep" --page source --csv --print-source sass > "$O/ncu_${name}_source.csv" 2>&1
  rm -f "$O/$name.ncu-rep"
  grep -E "Duration|DRAM Throughput|L1/TEX Hit|L2 Hit|Issued Warp|Registers Per|Eligible Warps|Achieved Occ" "$O/ncu_$name.txt"
  python3 gpu-sessions/ncu_hot_sass.py "$O/ncu_${name}_source.csv" 30 > "$O/ncu_${name}_hot.txt"
  head -12 "$O/ncu_${name}_hot.txt" | cut -c1-180
  xz -9 "$O/ncu_${name}_source.csv"; save
done
