#!/bin/bash
# One device call (about 10 minutes on an H100, 3 of them making and packing the 32-layer checkpoint):
# where W4A16 decode time goes. Kernel timelines of decode on the rtn-packed 7B-shaped checkpoint at
# batch 1, 16 and 64 (BATCHES) and of fp16 at batch 1 (gpu-sessions/device_timeline.sh), the 4-bit
# perplexity tests, then ncu of the GEMV at 1 and 16 tokens and the tiled GEMM at 64 (PROFILES:
# gpu-sessions/ncu_int4_kernels.sh's NAME:KERNEL:TOKENS:TILED). Saved into $OUT/s.tgz after each phase.
# Here: gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/profile_call.sh", carry=[".carry/pack", ".carry/shared", ".carry-peer"])
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
gpu-sessions/compare_peers.sh $O/prep model awq-prep > $O/prep.log 2>&1; echo "prep at ${SECONDS}s"
MODEL_DIR=/tmp/llama7b-awq gpu-sessions/device_timeline.sh $O/tl_awq "${BATCHES:-1 16 64}" | grep -vE "^ *$" | head -80
echo "awq timeline at ${SECONDS}s"; save
MODEL_DIR=/tmp/llama7b gpu-sessions/device_timeline.sh $O/tl_fp16 1 | head -30; echo "fp16 timeline at ${SECONDS}s"; save
b=.carry/bin
timeout 150 $b/turbine_gpu_tests --gtest_filter="CudaAwqPerplexity.*" > $O/tests.log 2>&1
echo "tests rc=$? at ${SECONDS}s"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|perplexity" $O/tests.log | head; save
AFTER_EACH="tar czf $OUT/s.tgz -C /tmp s" gpu-sessions/ncu_int4_kernels.sh $O ${PROFILES:-}
