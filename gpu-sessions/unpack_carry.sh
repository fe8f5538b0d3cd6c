# Sourced by the device-call scripts (int4_call.sh, profile_call.sh, decode_ab_call.sh), from the
# checkout: unpacks .carry/pack/bin.tar.xz outside the checkout (the device keeps ignored paths such as
# an earlier session's .carry/bin) and links it in, then sets the paths the tests and benches read.
rm -rf .carry/bin .carry/lib /tmp/turbine-carry
mkdir -p /tmp/turbine-carry && tar xJf .carry/pack/bin.tar.xz -C /tmp/turbine-carry
ln -sfn /tmp/turbine-carry/bin .carry/bin && ln -sfn /tmp/turbine-carry/lib .carry/lib
export LD_LIBRARY_PATH=$PWD/.carry/lib TURBINE_SHARED=$PWD/.carry/shared TURBINE_SOURCE_DIR=$PWD
export TURBINE_BIN=$PWD/.carry/bin/turbine BENCH_DIR=$PWD/.carry-peer
