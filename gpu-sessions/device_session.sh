#!/bin/bash
# Everything a GPU session checks, in as few device calls as the 10-minute limit allows.
# Build here first (gpu-sessions/prepare_carry.sh, docs/gpu.md), then carry .carry/pack (bin/ and lib/ packed),
# .carry/shared (golden) and .carry-peer
# (../shared/bench copied: make_llama7b.py, hf_peer.py, llamacpp_peer.sh, and llama.cpp-src.tar.gz
# repacked by gpu-sessions/slim_llamacpp_tarball.sh so that everything carried stays under 64 MiB).
#   call 1: gpu-sessions/device_session.sh OUT tests     GPU tests + memcheck on the op tests, starts the
#                                                        llama.cpp build and the 7B model (SETUP_PHASES=model: the model only)
#   call 2: gpu-sessions/device_session.sh OUT bench     turbine (graphs on and off) + throughput + llama.cpp + ratios
#                                                        + the copy bandwidth (PHASES="..." picks other phases
#                                                        of gpu-sessions/compare_peers.sh, e.g. fused-ab)
#   call 3: gpu-sessions/device_session.sh OUT hf        HF transformers eager beside them, then the ratios again
#   PHASES="model base-ab" gpu-sessions/device_session.sh OUT bench   the same-run A/B against the build
#                                                        carried as turbine-base (prepare_carry.sh)
#   GTEST_FILTER='*Moe*' gpu-sessions/device_session.sh OUT rerun   those tests and their memcheck (after a fix;
#                                                        models packed by gpu-sessions/carry_models.sh are unpacked)
#   (any time) gpu-sessions/device_session.sh OUT int4   the W4A16 op tests (and the 16-bit linear's, and the
#                                                        4-bit kjv-llama's perplexity), the op tests'
#                                                        memcheck, int4_linear_bench in fp16 and bf16
#   (any time) gpu-sessions/device_session.sh OUT gemv   the 4-bit linear tests (GTEST_FILTER overrides), int4_linear_bench
#                                                        at 1..64 tokens, then compare_peers.sh's model and awq phases
#   (any time) gpu-sessions/device_session.sh OUT first  the tests of every kernel not yet run on a GPU
#                                                        (4-bit, quantized KV), decode attention's bench on
#                                                        each KV format and decode kernel, int4_linear_bench
#   (any time) gpu-sessions/device_session.sh OUT tiled  the tiled 4-bit GEMM's tests (GTEST_FILTER overrides),
#                                                        its memcheck, int4_linear_bench at 16-64 tokens with it off and on
#   (any time) gpu-sessions/device_session.sh OUT ncu-gemv   ncu of the 4-bit GEMV at one token and its hottest
#                                                        SASS lines by stall samples (gpu-sessions/ncu_hot_sass.py)
#   (any time) gpu-sessions/device_session.sh OUT kernels    after kernel changes: the tests of the 4-bit linears,
#                                                        PDL, quantized-KV decode and attention (GTEST_FILTER
#                                                        overrides), memcheck of the GEMV, tiled and quantized
#                                                        decode tests, decode attention on each KV format and
#                                                        int4_linear_bench (tiled off, on above 16 tokens and
#                                                        on from 9), each beside the
#                                                        build carried as *-base (TURBINE_BASE_BUILD in
#                                                        prepare_carry.sh), then ncu of the GEMV at 1 and 16
#                                                        tokens and the tiled GEMM at 64 (hottest SASS lines;
#                                                        the whole SASS with its samples, xz'd)
#   (any time) gpu-sessions/device_session.sh OUT quantize   quantize awq of one 1B-class layer with
#                                                        --device cuda and cpu, timed
#   (any time) gpu-sessions/device_session.sh OUT timeline   kernel timelines of decode
#                                                        (gpu-sessions/device_timeline.sh)
# The calls must land on the same warm machine (less than 30 s apart) for the llama.cpp build and
# the outputs to be reused: give OUT a folder there (/tmp/session), not $OUT (emptied every call),
# and end each call with `tar czf $OUT/session.tgz -C /tmp/session .` ($OUT returns at most 8 files).
set -u
O=$1; part=$2; mkdir -p "$O"
# The packed binaries unpack outside the checkout (every call: the device keeps ignored paths such as an
# earlier session's .carry/bin, whose binaries would otherwise run instead of this build's) and are linked in.
if [ -f .carry/pack/bin.tar.xz ]; then
  rm -rf .carry/bin .carry/lib /tmp/turbine-carry
  mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
  ln -sfn /tmp/turbine-carry/bin .carry/bin && ln -sfn /tmp/turbine-carry/lib .carry/lib
fi
export LD_LIBRARY_PATH=$PWD/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Test models packed by gpu-sessions/carry_models.sh (the MoE model tests skip the ones not carried).
for f in .carry/shared/models/*/*.xz; do [ -f "$f" ] && xz -d "$f"; done
[ -d .carry/shared/models/kjv-internlm2 ] && export TURBINE_INTERNLM2_COPY=$PWD/.carry/shared/models/kjv-internlm2
# libnccl is too large to carry (prepare_carry.sh leaves it out): PyTorch's copy on the device serves.
nccl=$(find /opt/torch/.venv -name 'libnccl.so.2*' 2>/dev/null | head -1)
[ -n "$nccl" ] && export LD_LIBRARY_PATH=$(dirname "$nccl"):$LD_LIBRARY_PATH
# libnccl.so.2 is loaded when a CUDA tensor-parallel group is made (only those tests need it); a
# linked library that is not found (libcudart, cuBLAS) stops every binary before its first test.
echo "libnccl: ${nccl:-none under /opt/torch/.venv}"
[ -x .carry/bin/turbine_gpu_tests ] && ldd .carry/bin/turbine_gpu_tests | grep "not found" | sed 's/^/missing: /'
export TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
export TURBINE_BIN=$PWD/.carry/bin/turbine BENCH_DIR=$PWD/.carry-peer
[ -e .carry/bin/turbine-base ] && export TURBINE_BASE_BIN=$PWD/.carry/bin/turbine-base
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$O/gpu.txt"
case $part in
  tests)
    gpu-sessions/compare_peers.sh "$O" ${SETUP_PHASES:-build-peer model} > "$O/setup.log" 2>&1 &
    # Bounded, so that a hang in code that has never run costs this call's tail, not the call: the log
    # shows the test it stopped in (rc 124).
    timeout 300 .carry/bin/turbine_gpu_tests > "$O/gpu_tests.log" 2>&1; echo "gpu tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \] [0-9]" "$O/gpu_tests.log" || tail -3 "$O/gpu_tests.log"
    timeout 240 compute-sanitizer --tool memcheck --print-limit 20 .carry/bin/turbine_gpu_tests \
      --gtest_filter='*Attention*:*Linear*:*Fused*:*Elementwise*:*Sampling*:*Quantized*:*MoeOps*' > "$O/memcheck.log" 2>&1
    echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$O/memcheck.log" | tail -4
    wait ;;
  bench)
    gpu-sessions/compare_peers.sh "$O" ${PHASES:-model turbine graphs-off throughput llamacpp bandwidth ratios} ;;
  hf)
    gpu-sessions/compare_peers.sh "$O" model hf ratios ;;
  timeline)
    gpu-sessions/device_timeline.sh "$O/timeline" ;;
  rerun)  # the tests GTEST_FILTER names, then their memcheck (after a fix, without the whole suite)
    timeout 240 .carry/bin/turbine_gpu_tests --gtest_filter="$GTEST_FILTER" > "$O/rerun_tests.log" 2>&1
    echo "rerun tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \] [0-9]" "$O/rerun_tests.log" || tail -3 "$O/rerun_tests.log"
    timeout 150 compute-sanitizer --tool memcheck --print-limit 20 .carry/bin/turbine_gpu_tests \
      --gtest_filter="$GTEST_FILTER" > "$O/rerun_memcheck.log" 2>&1
    echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$O/rerun_memcheck.log" | tail -4 ;;
  int4)
    timeout 240 .carry/bin/turbine_gpu_tests --gtest_filter='*Int4*:*CudaLinear*:*CudaAwq*' > "$O/int4_tests.log" 2>&1
    echo "int4 tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \] [0-9]|Failure|error" "$O/int4_tests.log" | head -40
    timeout 150 compute-sanitizer --tool memcheck --print-limit 20 .carry/bin/turbine_gpu_tests \
      --gtest_filter='*Int4*' > "$O/int4_memcheck.log" 2>&1
    echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$O/int4_memcheck.log" | tail -4
    # fp16, then bf16.
    { .carry/bin/int4_linear_bench --dtype float16 --iterations 50
      .carry/bin/int4_linear_bench --dtype bfloat16 --iterations 50; } 2>&1 | tee "$O/int4_bench.txt" ;;
  gemv)  # the 4-bit GEMV after a change: its tests (bounded), the layer bench, then W4A16 end to end
    timeout 150 .carry/bin/turbine_gpu_tests \
      --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Linear.*:CudaAwqPerplexity.MatchesTheCpuWithinHalfAPercent-*Tiled*}" \
      > "$O/gemv_tests.log" 2>&1
    echo "gemv tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \] [0-9]|Failure" "$O/gemv_tests.log" | head -30
    timeout 90 .carry/bin/int4_linear_bench --dtype float16 --iterations 50 --tokens 1,2,4,8,16,32,64 2>&1 |
      tee "$O/int4_bench.txt"
    gpu-sessions/compare_peers.sh "$O" model awq ;;
  first)  # first contact for the kernels written without a GPU: their tests, then their benchmarks
    # Two processes, so that a fault in one part's kernels leaves the other's results.
    for filter in '*QuantizedDecode*:*KvQuant*' '*Int4*:*CudaLinear*:*CudaAwq*'; do
      log="$O/first_tests_${filter:1:3}.log"
      timeout 200 .carry/bin/turbine_gpu_tests --gtest_filter="$filter" > "$log" 2>&1
      echo "tests $filter rc=$?"
      grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \] [0-9]|Failure" "$log" | head -30
    done
    # Decode attention at bench throughput's shape on each cache format and decode kernel, and a
    # 2048-token int8 prefill on the general and the flash kernel.
    for v in lanes TURBINE_CUDA_KV_DECODE_WIDE_LANES=1 TURBINE_CUDA_FLASH_QUANTIZED_KV=1; do
      echo "== $v"; env ${v/lanes/TURBINE_CUDA_KV_DECODE_WIDE_LANES=0} timeout 75 .carry/bin/backend_ops_bench \
        --filter attention --iterations 50
    done 2>&1 | tee "$O/attention_bench.txt"
    timeout 120 .carry/bin/int4_linear_bench --dtype float16 --iterations 50 2>&1 | tee "$O/int4_bench.txt" ;;
  tiled)  # the tiled 4-bit GEMM (weights in its cp.async stages since the seventh session): tests, memcheck, A/B
    timeout 180 .carry/bin/turbine_gpu_tests --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Linear.*:CudaAwqPerplexity.*:Dtypes/CudaPdl.*}" \
      > "$O/tiled_tests.log" 2>&1
    echo "tiled tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|chunked" "$O/tiled_tests.log" | head -30
    # Bounded with a kill: compute-sanitizer's child outlives a plain timeout and would load the GPU
    # under the benchmarks that follow.
    timeout -k 5 90 compute-sanitizer --tool memcheck --print-limit 20 .carry/bin/turbine_gpu_tests \
      --gtest_filter='Dtypes/CudaInt4Linear.TiledAgreesWithGemm*' > "$O/tiled_memcheck.log" 2>&1
    echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$O/tiled_memcheck.log" | tail -3
    pkill -f turbine_gpu_tests; sleep 1
    for tiled in 0 1; do
      echo "== TURBINE_CUDA_INT4_TILED=$tiled"
      TURBINE_CUDA_INT4_TILED=$tiled TURBINE_CUDA_INT4_TILED_MIN=9 TURBINE_CUDA_INT4_TILED_MAX=1048576 \
        timeout 60 .carry/bin/int4_linear_bench --dtype float16 --iterations 50 --tokens 16,32,64
    done 2>&1 | tee "$O/tiled_bench.txt" | grep -E "^==|layer" ;;
  ncu-gemv)  # why the 4-bit GEMV takes the time it does at one token: ncu's sections and its hottest SASS lines
    export PATH=/usr/local/cuda/bin:$PATH
    timeout 150 ncu --set full --import-source yes -k regex:int4_gemv -c 1 --export "$O/gemv_t1" \
      .carry/bin/int4_linear_bench --tokens 1 --iterations 2 > "$O/ncu_run.log" 2>&1
    echo "ncu rc=$?"
    ncu -i "$O/gemv_t1.ncu-rep" --page details > "$O/ncu_gemv_t1.txt" 2>&1
    ncu -i "$O/gemv_t1.ncu-rep" --page source --csv --print-source sass > "$O/ncu_gemv_t1_source.csv" 2>&1
    rm -f "$O/gemv_t1.ncu-rep"
    grep -E "Duration|DRAM Throughput|Issued Warp|Registers Per|Eligible Warps|Executed Instructions  " "$O/ncu_gemv_t1.txt"
    python3 gpu-sessions/ncu_hot_sass.py "$O/ncu_gemv_t1_source.csv" 25 | tee "$O/ncu_gemv_t1_hot_sass.txt" ;;
  kernels)  # kernels changed without a GPU: correctness first, then same-call A/B against the base build
    timeout 200 .carry/bin/turbine_gpu_tests --gtest_filter="${GTEST_FILTER:-Dtypes/CudaInt4Linear.*:CudaAwqPerplexity.*:Dtypes/CudaPdl.*:*QuantizedDecode*:*KvQuant*:*CudaAttention*}" \
      > "$O/kernel_tests.log" 2>&1
    echo "kernel tests rc=$?"
    grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|chunked|perplexity" "$O/kernel_tests.log" | head -30
    timeout -k 5 110 compute-sanitizer --tool memcheck --print-limit 20 .carry/bin/turbine_gpu_tests \
      --gtest_filter='Dtypes/CudaInt4Linear.TiledAgreesWithGemm*:Dtypes/CudaInt4Linear.MatchesDequantizedCpu*:Dtypes/CudaQuantizedDecode.MatchesCpu*' \
      > "$O/kernel_memcheck.log" 2>&1
    echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$O/kernel_memcheck.log" | tail -3
    pkill -f turbine_gpu_tests; sleep 1
    b=.carry/bin
    for round in 1 2; do for v in base head; do  # decode attention, alternated
      bin=$b/backend_ops_bench; [ $v = base ] && bin=$b/backend_ops_bench-base
      [ -x "$bin" ] || continue
      echo "== $v $round"; timeout 60 "$bin" --filter "128x640+1" --iterations 50 2>&1 | grep attention
    done; done | tee "$O/attention_ab.txt"
    # base and head: the tiled GEMM off (the GEMV, then int4_gemm.cu); tiled: the tiled GEMM at every count
    # above the GEMV's 16 tokens; tiled-9: from 9 tokens (the GEMV up to 8).
    for v in base head tiled tiled-9; do
      bin=$b/int4_linear_bench; [ $v = base ] && bin=$b/int4_linear_bench-base
      [ -x "$bin" ] || continue
      echo "== $v"; env TURBINE_CUDA_INT4_TILED=$([ ${v%-9} = tiled ] && echo 1 || echo 0) \
        TURBINE_CUDA_INT4_TILED_MIN=9 TURBINE_CUDA_INT4_TILED_MAX=1048576 \
        TURBINE_CUDA_INT4_GEMV=$([ $v = tiled-9 ] && echo 8 || echo 16) \
        timeout 60 "$bin" --dtype float16 --iterations 50 --tokens 1,8,16,32,64 2>&1 | grep -E "layer|tokens"
    done | tee "$O/int4_ab.txt"
    gpu-sessions/ncu_int4_kernels.sh "$O" ;;
  quantize)  # quantize awq with its fp32 products on the GPU against all on the CPU: one 1B-class layer
    py=/opt/torch/.venv/bin/python; [ -x "$py" ] || py=python3
    "$py" bench/make_llama_checkpoint.py /tmp/llama1b models/kjv-llama 1 > /dev/null
    for dev in cuda cpu; do
      rm -rf "/tmp/q-$dev"
      /usr/bin/time -f "quantize awq --device $dev: %e s wall, %M KB peak" timeout 240 .carry/bin/turbine quantize \
        awq /tmp/llama1b --calib tests/data/kjv_calibration.txt --calib-tokens 1024 --device $dev --out "/tmp/q-$dev"
    done 2>&1 | tee "$O/quantize_device.txt" ;;
  *) echo "usage: $0 OUT tests|rerun|bench|hf|timeline|int4|gemv|tiled|ncu-gemv|kernels|quantize|first"; exit 2 ;;
esac
