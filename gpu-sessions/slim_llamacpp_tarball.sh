#!/bin/bash
# Repacks ../shared/bench/llama.cpp-src.tar.gz without what a CUDA build of llama-bench never reads
# (other GPU backends, web-UI assets, test media), so the device call's carried files stay under
# 64 MiB beside the bundled model and the stripped binaries (9.3 MB -> about 6 MB).
# Usage: gpu-sessions/slim_llamacpp_tarball.sh SRC.tar.gz DST.tar.gz
set -eu
src=$(realpath "$1"); dst=$(realpath -m "$2"); tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar xzf "$src" -C "$tmp"
rm -rf "$tmp"/ggml/src/{ggml-opencl,ggml-vulkan,ggml-metal,ggml-sycl,ggml-cann,ggml-hexagon,ggml-webgpu,ggml-openvino,ggml-zdnn} \
  "$tmp"/tools/ui/tests/stories/fixtures/assets "$tmp"/tools/mtmd/test-*.mp4
tar czf "$dst" -C "$tmp" .
ls -l "$dst"
