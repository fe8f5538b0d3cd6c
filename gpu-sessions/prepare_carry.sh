#!/bin/bash
# Fills the git-ignored folders a device call carries (docs/gpu.md): .carry/bin (the sm_90a build
# of turbine, turbine_gpu_tests and backend_ops_bench, stripped), .carry/lib (the kernel timeline
# library and the shared libraries they need that the device machine lacks: everything but glibc,
# libstdc++ and CUDA's own, CUPTI included), both
# packed as .carry/pack/bin.tar.xz (a sixth of their size; gpu-sessions/device_session.sh unpacks it),
# .carry/shared/golden and .carry-peer (../shared/bench with llama.cpp's source repacked small).
# Ends with the size a call carrying them sends, against the 64 MiB limit.
# With TURBINE_BASE_BIN=path/to/an/earlier/turbine it also carries that build as .carry/bin/turbine-base
# (compare_peers.sh's base-ab phase); with TURBINE_BASE_BUILD=an/earlier/build-gpu folder, its
# backend_ops_bench and int4_linear_bench as *-base (device_session.sh's kernels part); with
# TURBINE_VARIANT_BUILD="NAME=path/to/another/build-gpu ...", each build's turbine, turbine_gpu_tests and
# int4_linear_bench as turbine-NAME, turbine_gpu_tests-NAME and int4_linear_bench-NAME
# (decode_ab_call.sh tests and times them beside this build); with TURBINE_VARIANT_LINK="NAME=OTHER ...", a
# turbine-NAME and int4_linear_bench-NAME that are links to variant OTHER's (no tests of their own), so that one
# build runs as a second variant under other settings (decode_ab_call.sh's VARIANT_ENV_NAME, e2e_ab_call.sh's
# VARIANT_FLAGS_NAME) at no cost in carried bytes.
# Usage: gpu-sessions/prepare_carry.sh   (then run(carry=[".carry/pack", ".carry/shared", ".carry-peer"]))
set -eu
cd "$(dirname "$0")/.."
shared=${TURBINE_SHARED:-$PWD/../shared}
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a-real > /dev/null
cmake --build build-gpu --target turbine turbine_gpu_tests backend_ops_bench int4_linear_bench kernel_timeline
rm -rf .carry/bin .carry/lib
mkdir -p .carry/bin .carry/lib .carry/pack .carry/shared/golden .carry-peer
strip -o .carry/bin/turbine build-gpu/turbine
strip -o .carry/bin/turbine_gpu_tests build-gpu/tests/turbine_gpu_tests
strip -o .carry/bin/backend_ops_bench build-gpu/bench/backend_ops_bench
strip -o .carry/bin/int4_linear_bench build-gpu/bench/int4_linear_bench
strip -o .carry/lib/libkernel_timeline.so build-gpu/bench/libkernel_timeline.so
[ -n "${TURBINE_BASE_BIN:-}" ] && strip -o .carry/bin/turbine-base "$TURBINE_BASE_BIN"
if [ -n "${TURBINE_BASE_BUILD:-}" ]; then  # an earlier build folder's benches, for device_session.sh's kernels part
  for b in backend_ops_bench int4_linear_bench; do strip -o ".carry/bin/$b-base" "$TURBINE_BASE_BUILD/bench/$b"; done
fi
for variant in ${TURBINE_VARIANT_BUILD:-}; do  # NAME=dir, space-separated
  name=${variant%%=*} dir=${variant#*=}
  strip -o ".carry/bin/turbine-$name" "$dir/turbine"
  strip -o ".carry/bin/turbine_gpu_tests-$name" "$dir/tests/turbine_gpu_tests"
  [ -f "$dir/bench/int4_linear_bench" ] && strip -o ".carry/bin/int4_linear_bench-$name" "$dir/bench/int4_linear_bench"
done
for link in ${TURBINE_VARIANT_LINK:-}; do  # NAME=OTHER, space-separated
  name=${link%%=*} other=${link#*=}
  ln -s "turbine-$other" ".carry/bin/turbine-$name"
  [ -f ".carry/bin/int4_linear_bench-$other" ] && ln -s "int4_linear_bench-$other" ".carry/bin/int4_linear_bench-$name"
done
for bin in .carry/bin/* .carry/lib/libkernel_timeline.so; do
  ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libdl|librt|libutil|libcuda[^/]*|libcublas[^/]*|libnccl[^/]*)\.so' |
  while read -r lib; do cp -L "$lib" .carry/lib/; done
# -9e: a 64 MiB dictionary finds the builds' shared code across binaries (a third smaller than -6)
XZ_OPT="-9e -T2" tar cJf .carry/pack/bin.tar.xz -C .carry bin lib
cp "$shared/golden/golden.json" .carry/shared/golden/
# make_llama7b.py also in .carry/shared: calls that carry no .carry-peer (e2e_ab_call.sh) make the 7B model.
mkdir -p .carry/shared/bench && install -m 0644 "$shared/bench/make_llama7b.py" .carry/shared/bench/
for f in make_llama7b.py hf_peer.py llamacpp_peer.sh LICENSE-llama.cpp; do install -m 0644 "$shared/bench/$f" .carry-peer/; done
chmod +x .carry-peer/llamacpp_peer.sh
[ -f .carry-peer/llama.cpp-src.tar.gz ] || gpu-sessions/slim_llamacpp_tarball.sh "$shared/bench/llama.cpp-src.tar.gz" .carry-peer/llama.cpp-src.tar.gz
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
carried=$(du -cb .carry/pack .carry/shared .carry-peer | tail -1 | cut -f1)
echo "carried: $(( (tree + carried) / 1048576 )) MiB of 64 (working tree $(( tree / 1048576 )) MiB)"
