#!/usr/bin/env bash
# Installs the Debian packages edgefl needs to build, test and run.
# Idempotent: only calls apt-get when a package is missing; uses sudo when
# not root. Set EDGEFL_SKIP_DEPS=1 to skip entirely.
#   scripts/setup-deps.sh           what the build, the demo and the tests need
#   scripts/setup-deps.sh --bench   also the benchmarks' baselines (PyTorch:
#                                   ~170 packages the tests do not need)
set -euo pipefail

if [[ "${EDGEFL_SKIP_DEPS:-0}" == 1 ]]; then exit 0; fi

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache clang-format
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer + sanitizer runtimes
  # libraries
  libboost-dev        # Boost.Asio (header-only)
  libssl-dev          # OpenSSL: TLS and certificates
  libeigen3-dev       # Eigen: dense linear algebra for training
  libsqlite3-dev      # SQLite: the experiment log
  zlib1g-dev          # zlib: gzipped IDX files
  doctest-dev         # unit tests
  libcxxopts-dev      # command-line parsing
  libtomlplusplus-dev # TOML experiment configs
  libopenmpi-dev openmpi-bin  # EDGEFL_MPI: mpirun -n R edgefl sim (sim/mpi_*)
  # data
  dataset-fashion-mnist  # real Fashion-MNIST IDX files in /usr/share/datasets
  fortunes fortunes-min  # dataset = "fortunes": text in /usr/share/games/fortunes (43 categories)
  # tests
  chromium            # headless: renders the edgefl report in a test
)
if [[ ${1:-} == --bench ]]; then
  packages+=(python3-torch libopenblas0-pthread)  # the PyTorch baselines (bench/pytorch_*.py)
fi

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
