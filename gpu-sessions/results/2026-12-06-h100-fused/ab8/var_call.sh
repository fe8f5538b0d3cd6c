#!/bin/bash
# One-off: batch-1 W4A16 decode on an 8-layer 7B-shaped rtn checkpoint: base (main), head (fused
# one-token GEMV), head with fusion off, varA (gamma before the wait + one smem carveout), alternated.
set -u
O=/tmp/s; mkdir -p $O
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
rm -rf .carry/bin .carry/lib /tmp/turbine-carry
mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
export LD_LIBRARY_PATH=/tmp/turbine-carry/lib
b=/tmp/turbine-carry/bin
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
$PY .carry-peer/make8.py /tmp/m8 8 > $O/make.log 2>&1; echo "made at ${SECONDS}s"
$b/turbine quantize awq /tmp/m8 --method rtn --out /tmp/m8-awq > $O/quant.log 2>&1; echo "quantized rc=$? at ${SECONDS}s"; save
for round in 1 2 3; do for v in base head unfused varA; do
  bin=$b/turbine; env=""
  case $v in base) bin=$b/turbine-base;; unfused) env="TURBINE_CUDA_FUSED=0";; varA) bin=$b/turbine-varA;; esac
  r=$(env $env $bin bench generate /tmp/m8-awq --batch 1,16 --input-len 128 --output-len 256 --warmup 1 --dtype fp16 --json 2>>$O/err.log |
    $PY -c "import sys,json; print(' '.join('%.1f' % json.loads(l)['decode_throughput'] for l in sys.stdin if l.strip()))")
  echo "$v $round $r" | tee -a $O/ab.txt
done; save; done; echo "done at ${SECONDS}s"
