#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, AddressSanitizer +
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs each for SECONDS
# (default 60), starting from its committed seed corpus fuzz/corpus/<name>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   TARGET: frame_decoder, loaders, codec
# New inputs go to build-fuzz/corpus/<name>/ (kept between runs, never
# committed); a crash, sanitizer report, leak, timeout or out-of-memory
# writes the input to build-fuzz/artifacts/ and fails the script. Reproduce
# one with: build-fuzz/fuzz/<name>_fuzzer <file>. Results: docs/robustness.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(frame_decoder loaders codec); fi

build_dir=${EDGEFL_FUZZ_BUILD_DIR:-build-fuzz}
./scripts/setup-deps.sh
if [[ ! -f "$build_dir/build.ninja" ]]; then
  CC=clang-16 CXX=clang++-16 cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEDGEFL_FUZZ=ON -DEDGEFL_SANITIZE=address,undefined -DEDGEFL_WERROR=ON \
    -DEDGEFL_BUILD_TESTS=OFF -DEDGEFL_BUILD_BENCH=OFF
fi
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/%/_fuzzer}"

mkdir -p "$build_dir/artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$build_dir/corpus/$t"
  echo "fuzz.sh: $t for ${seconds}s"
  # -malloc_limit_mb: no single allocation over 512 MiB (the inputs are at
  # most a few KiB; a loader that believes a header's size must not act on it).
  # The progress lines (NEW, REDUCE, pulse) are dropped from the log.
  set +e
  "$build_dir/fuzz/${t}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -malloc_limit_mb=512 -timeout=10 -artifact_prefix="$build_dir/artifacts/${t}-" \
    "$build_dir/corpus/$t" "fuzz/corpus/$t" 2>&1 |
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 ]]; then
    echo "fuzz.sh: $t failed (exit $status); the input is in $build_dir/artifacts/" >&2
    exit 1
  fi
done
