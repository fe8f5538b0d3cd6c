#!/bin/bash
# Puts test models on a device call: the MoE model tests read ../shared/models/mixtral-tiny (44 MB) and
# qwen3-moe-tiny (27 MB) and an InternLM2 copy of kjv-llama (45 MB), none of which fits beside the
# working tree's own models/kjv-llama (44 MB of the 64 MiB a call carries).
#   gpu-sessions/carry_models.sh on NAME...   packs each model xz-compressed into .carry/shared/models/NAME
#                                             (kjv-internlm2: made here by ../shared/scripts/make_internlm2.py),
#                                             takes models/kjv-llama out of git's index for the call (its files
#                                             stay, hidden by .git/info/exclude) and prints the size a call
#                                             carrying .carry/pack and .carry/shared sends
#   gpu-sessions/carry_models.sh off          puts models/kjv-llama back into the index, drops the packed models
# Commit nothing between `on` and `off`: the index then lacks kjv-llama. device_session.sh unpacks the
# models, points TURBINE_INTERNLM2_COPY at the copy, and skips (with a line) the tests of models not carried.
# About 32 / 20 / 33 MiB packed: one call takes qwen3-moe-tiny + kjv-internlm2, another mixtral-tiny.
set -eu
cd "$(dirname "$0")/.."
shared=${TURBINE_SHARED:-$PWD/../shared}
exclude=.git/info/exclude
[ -d .git ] || exclude=$(git rev-parse --git-path info/exclude)
case ${1:-} in
  on)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 on NAME... | off"; exit 2; }
    rm -rf .carry/shared/models
    for name in "$@"; do
      out=.carry/shared/models/$name
      mkdir -p "$out"
      if [ "$name" = kjv-internlm2 ]; then
        /usr/bin/python3 "$shared/scripts/make_internlm2.py" models/kjv-llama "$out" > /dev/null
      else
        cp "$shared/models/$name"/* "$out"/
        chmod u+w "$out"/*
      fi
      for f in "$out"/model.safetensors "$out"/tokenizer.json; do [ -f "$f" ] && xz -9 -T2 "$f"; done
    done
    if git ls-files --error-unmatch models/kjv-llama/model.safetensors > /dev/null 2>&1; then
      git rm -r -q --cached models/kjv-llama
      grep -qx "/models/kjv-llama/" "$exclude" || echo "/models/kjv-llama/" >> "$exclude"
    fi
    tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
    carried=$(du -cb .carry/pack .carry/shared | tail -1 | cut -f1)
    echo "carry .carry/pack and .carry/shared: $(( (tree + carried) / 1048576 )) MiB of 64 (no .carry-peer); then: $0 off" ;;
  off)
    git reset -q models/kjv-llama
    sed -i '\#^/models/kjv-llama/$#d' "$exclude"
    rm -rf .carry/shared/models
    git status --short models ;;
  *) echo "usage: $0 on NAME... | off"; exit 2 ;;
esac
