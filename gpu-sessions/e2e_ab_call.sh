#!/bin/bash
# One device call (about 6 minutes on an H100 with the checkpoints to make, 4 when a warm machine still
# has them): W4A16 decode on the 32-layer 7B-shaped checkpoint of this build against variant builds
# (turbine-NAME) and turbine fp16, alternated ROUNDS times with nothing compiling beside them, the clean
# end-to-end A/B that int4_call.sh's single runs (some beside llama.cpp's compile) are not. Each run is
# `bench generate --batch BATCHES --input-len 128 --output-len 256 --warmup 1 --dtype fp16`, most of its
# time loading the model (about 70 s a W4A16 run, 20 s an fp16 one).
# Here: TURBINE_VARIANT_BUILD="NAME=dir" gpu-sessions/prepare_carry.sh
# Then: run(command="bash gpu-sessions/e2e_ab_call.sh", carry=[".carry/pack", ".carry/shared"])
# (make_llama7b.py rides in .carry/shared/bench, so .carry-peer and its llama.cpp source stay behind.)
# Knobs: BATCHES (16,32,64), ROUNDS (2), VARIANTS (the names to run; default every turbine-NAME carried),
# VARIANT_FLAGS_NAME (bench flags for NAME, which runs this build's binary when no turbine-NAME is carried,
# e.g. VARIANTS=lh VARIANT_FLAGS_lh="--lm-head-quant int4"), FP16=0 (no fp16 runs).
# Writes e2e/RUN-ROUND.jsonl and ab.txt (decode tok/s a run), saved into $OUT/s.tgz after each run.
set -u
O=/tmp/s; rm -rf $O; mkdir -p $O/e2e
save() { tar czf "$OUT/s.tgz" -C /tmp s; }
source gpu-sessions/unpack_carry.sh
[ -f "$BENCH_DIR/make_llama7b.py" ] || export BENCH_DIR=$PWD/.carry/shared/bench
b=.carry/bin
nvidia-smi --query-gpu=name --format=csv,noheader | tee $O/gpu.txt
gpu-sessions/compare_peers.sh $O/e2e model awq-prep > $O/prep.log 2>&1 || { cat $O/prep.log; save; exit 1; }
echo "checkpoints at ${SECONDS}s"
runs="main ${VARIANTS:-$(cd $b && ls turbine-* 2>/dev/null | grep -v '^turbine-base$' | sed 's/^turbine-//')}"
[ "${FP16:-1}" = 0 ] || runs="$runs fp16"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for v in $runs; do
    bin=$TURBINE_BIN model=/tmp/llama7b-awq flags=
    if [ $v = fp16 ]; then model=/tmp/llama7b
    elif [ $v != main ]; then
      f=VARIANT_FLAGS_$v; flags=${!f:-}
      if [ -x "$b/turbine-$v" ]; then bin=$b/turbine-$v
      elif [ -z "$flags" ]; then echo "no turbine-$v and no VARIANT_FLAGS_$v: skipped"; continue
      fi
    fi
    # shellcheck disable=SC2086  # flags are words
    "$bin" bench generate $model --batch "${BATCHES:-16,32,64}" --input-len 128 --output-len 256 --warmup 1 \
      --dtype fp16 --json $flags 2> $O/e2e/$v-$round.err > $O/e2e/$v-$round.jsonl
    tps=$(grep -o '"decode_throughput":[0-9.]*' $O/e2e/$v-$round.jsonl | cut -d: -f2 | tr '\n' ' ')
    [ -n "$tps" ] || tps="none (e2e/$v-$round.err: $(tail -1 $O/e2e/$v-$round.err))"
    echo "$v $round (decode tok/s at batch ${BATCHES:-16,32,64}): $tps at ${SECONDS}s" | tee -a $O/ab.txt
    save
  done
done
