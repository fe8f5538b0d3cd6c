#!/usr/bin/env bash
# One-step set-up for a fresh Debian 12 machine.
#   scripts/setup.sh demo   install dependencies, build, run a short generation on the bundled model
#   scripts/setup.sh test   install dependencies, build, run every test (ends with ctest's summary)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}

bash scripts/install-deps.sh
# The official openai npm client and puppeteer-core (drives Debian's chromium) for the server tests, pinned
# by tests/server/package-lock.json (their tests are skipped where npm is missing).
if command -v npm >/dev/null; then
  npm ci --prefix tests/server --no-audit --no-fund --loglevel=error ||
    echo "warning: npm ci in tests/server failed; the openai client and browser tests will be skipped" >&2
fi

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
# The Python package into /usr/bin/python3's user site, so that `import turbine` works (docs/python.md).
cmake --install build --component python > /dev/null

case "$mode" in
  demo)
    # The prompt, then a sampled continuation (greedy decoding of this small model repeats itself).
    ./build/turbine generate models/kjv-llama --echo --prompt "In the beginning God created the heaven and the earth." \
      --max-new-tokens 48 --temperature 0.6 --top-p 0.9 --repetition-penalty 1.15 --seed 1
    ;;
  test)
    export TURBINE_SHARED=${TURBINE_SHARED:-$(cd .. && pwd)/shared}
    ctest --test-dir build --output-on-failure -j"$jobs"
    ;;
  *)
    echo "usage: scripts/setup.sh demo|test" >&2
    exit 2
    ;;
esac
