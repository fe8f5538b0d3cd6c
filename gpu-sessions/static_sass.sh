#!/bin/bash
# Without a GPU: the static SASS size of each kernel of one CUDA source file (instructions: the kernel's
# .text section over 16 bytes) and ptxas's registers and spills, compiled as build-gpu compiles it, from
# this checkout or from another source tree (a worktree of a variant). Compare two trees' counts to see
# what a change does to a kernel's instructions before a device call measures it.
# Usage: gpu-sessions/static_sass.sh src/backend/cuda/gemm/int4_gemv.cu [SOURCE_ROOT]
#   (build-gpu must be configured: gpu-sessions/prepare_carry.sh or cmake -B build-gpu ... does that)
set -eu
cd "$(dirname "$0")/.."
file=$1 root=${2:-$PWD}
obj=src/CMakeFiles/turbine_backend.dir/${file#src/}.o
cmd=$(ninja -C build-gpu -t commands "$obj" | tail -1)
[ -n "$cmd" ] || { echo "no compile command for $obj in build-gpu" >&2; exit 1; }
# The include root holds one link per layer (src/CMakeLists.txt); point a private one at SOURCE_ROOT.
inc=$(mktemp -d)
trap 'rm -rf "$inc"' EXIT
for layer in "$PWD"/build-gpu/include/*/; do
  name=$(basename "$layer")
  mkdir -p "$inc/$name" && ln -s "$root/src/$name" "$inc/$name/$name"
done
cmd=$(echo "$cmd" | sed "s|^/usr/bin/ccache ||; s| -c | -cubin |; s| -MD -MT [^ ]* -MF [^ ]*||; s| -o [^ ]*$||" |
  sed "s|$PWD/build-gpu/include|$inc|g; s|$PWD/src/|$root/src/|g")
(cd build-gpu && eval "$cmd -Xptxas -v -o $inc/out.cubin") 2>&1 |
  awk "/Compiling entry function/ { split(\$0, q, \"'\"); sym = q[2] }
       /bytes spill stores/ { spill = \$5 }
       /Used [0-9]+ registers/ { print sym, \$5, spill }" > "$inc/ptxas.txt"
readelf -SW "$inc/out.cubin" 2> /dev/null | sed -nE 's/.*\.text\.(_Z[^ ]*) +PROGBITS +[0-9a-f]+ +[0-9a-f]+ +([0-9a-f]+).*/\1 \2/p' |
  while read -r sym size; do
    regs=$(awk -v s="$sym" '$1 == s {print $2 " regs, " $3 " B spilled"}' "$inc/ptxas.txt")
    printf "%6d  %-22s %s\n" $((16#$size / 16)) "${regs:-}" "$(echo "$sym" | c++filt | sed 's/turbine::cuda::(anonymous namespace):://g' | cut -c1-110)"
  done
