#!/usr/bin/env bash
# Installs missing packages, checks the layering (scripts/check-layers.sh
# against docs/architecture.md) and the formatting (scripts/check-format.sh),
# builds edgefl (warnings are errors) and runs
# the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
./scripts/check-layers.sh
./scripts/check-format.sh
./scripts/build.sh
build_dir=${EDGEFL_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
