#!/usr/bin/env bash
# Configures and builds edgefl with Ninja into $EDGEFL_BUILD_DIR (default:
# build/), in the one configuration every script shares: Release, warnings
# as errors, tests and benches on. demo.sh and test.sh therefore never
# rebuild each other's objects; a second run with no change builds nothing.
#   scripts/build.sh [cmake -D options]      configure + build everything
#   EDGEFL_TARGETS="a b" scripts/build.sh    build only those targets (the
#                                            demo: the three programs)
# Extra -D options are added to the shared ones (they change the
# configuration of that build directory for every later script).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${EDGEFL_BUILD_DIR:-build}
options=(-DCMAKE_BUILD_TYPE=Release -DEDGEFL_WERROR=ON -DEDGEFL_BUILD_TESTS=ON
  -DEDGEFL_BUILD_BENCH=ON "$@")
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja "${options[@]}"
else
  # Same values as the cache holds: no flag changes, nothing rebuilt.
  cmake "$build_dir" "${options[@]}" >/dev/null
fi
targets=()
for t in ${EDGEFL_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
