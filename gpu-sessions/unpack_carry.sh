# Sourced by the device-call scripts (int4_call.sh, profile_call.sh, decode_ab_call.sh, ...), from the
# checkout: unpacks .carry/pack/bin.tar.xz outside the checkout (the device keeps ignored paths such as
# an earlier session's .carry/bin) and links it in, then sets the paths the tests and benches read, $PY
# and make_8layer_checkpoint.
rm -rf .carry/bin .carry/lib /tmp/turbine-carry
mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
ln -sfn /tmp/turbine-carry/bin .carry/bin && ln -sfn /tmp/turbine-carry/lib .carry/lib
export LD_LIBRARY_PATH=$PWD/.carry/lib TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
export TURBINE_BIN=$PWD/.carry/bin/turbine BENCH_DIR=$PWD/.carry-peer
# The device's python3 with numpy and PyTorch where it has them.
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
# make_8layer_checkpoint LOG: 8 layers of Llama-2-7B's shapes, rtn-packed into /tmp/llama7b-8layers (about
# 30 s; the A/B calls run it in the background while their tests run).
make_8layer_checkpoint() {
  ($PY bench/make_llama_checkpoint.py /tmp/llama7b-8layers-bf16 models/kjv-llama 8 7b &&
    .carry/bin/turbine quantize awq /tmp/llama7b-8layers-bf16 --method rtn --out /tmp/llama7b-8layers) > "$1" 2>&1
}
