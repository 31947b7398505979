#!/usr/bin/env bash
# Configures (once) and builds edgefl with Ninja into $EDGEFL_BUILD_DIR
# (default: build/). Extra arguments are passed to cmake at configure time.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${EDGEFL_BUILD_DIR:-build}
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
elif [[ $# -gt 0 ]]; then
  cmake "$build_dir" "$@"
fi
cmake --build "$build_dir" -j "$(nproc)"
