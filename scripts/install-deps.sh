#!/usr/bin/env bash
# Installs the Debian 12 packages turbine builds and tests with (skips what is already there).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config ccache
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libsentencepiece-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev
  python3 python3-pytest python3-jinja2 python3-sentencepiece python3-numpy
  chromium  # the web UI's headless-browser test (tests/server/test_webui_browser.py)
  nginx  # deploy/nginx/turbine.conf, tested in front of two replicas (tests/server/test_nginx_scaleout.py)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the server's test clients (the official openai package, puppeteer-core). Debian's
# are taken only where no node/npm is installed at all, so a newer Node.js already there is left alone.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
