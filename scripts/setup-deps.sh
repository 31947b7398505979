#!/usr/bin/env bash
# Installs the Debian packages edgefl needs to build, test and run.
# Idempotent: only calls apt-get when a package is missing; uses sudo when
# not root. Set EDGEFL_SKIP_DEPS=1 to skip entirely.
#   scripts/setup-deps.sh           what the build, the demo and the tests need
#   scripts/setup-deps.sh --bench   also the benchmarks' baselines (PyTorch:
#                                   ~170 packages the tests do not need)
#   scripts/setup-deps.sh --cross-arm64
#                                   also the aarch64 cross toolchain, the arm64
#                                   libraries edgefl-client links (multiarch:
#                                   adds the arm64 architecture to dpkg) and
#                                   qemu-user to run them (scripts/cross-arm64.sh)
# The options combine (--bench --cross-arm64).
set -euo pipefail

if [[ "${EDGEFL_SKIP_DEPS:-0}" == 1 ]]; then exit 0; fi

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache clang-format
  dpkg-dev            # cpack -G DEB: dpkg-shlibdeps (tests/scripts/deb_package_test.cpp)
  clang-16 libclang-rt-16-dev  # scripts/fuzz.sh, sanitize.sh asan: libFuzzer, sanitizer runtimes
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
cross_arm64=0
for option in "$@"; do
  case $option in
    --bench)
      packages+=(python3-torch libopenblas0-pthread)  # the PyTorch baselines (bench/pytorch_*.py)
      ;;
    --cross-arm64)
      cross_arm64=1
      # cmake/aarch64-linux-gnu.cmake: g++-aarch64-linux-gnu and binutils;
      # what the configure finds (SQLite, toml++) and the client links
      # (OpenSSL, zlib) for arm64; Boost.Asio, Eigen, cxxopts and doctest are
      # header-only and come from the host's packages above.
      packages+=(crossbuild-essential-arm64 qemu-user
        libssl-dev:arm64 zlib1g-dev:arm64 libsqlite3-dev:arm64 libtomlplusplus-dev:arm64
        sqlite3 time file)  # the script reads the log; GNU time: peak RSS; file
      ;;
    *)
      echo "setup-deps: unknown option '$option' (expected --bench or --cross-arm64)" >&2
      exit 2
      ;;
  esac
done

missing=()
host_arch=$(dpkg --print-architecture)
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages,
  # one line per installed architecture (libssl-dev can be there for amd64 and
  # arm64): a name without ":arch" needs the host's (or an "all" package).
  arches="$host_arch|all"
  [[ $p == *:* ]] && arches=${p#*:}
  if ! dpkg-query -W -f='${Status} ${Architecture}\n' "$p" 2>/dev/null |
    grep -Eqx "install ok installed ($arches)"; then
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
if [[ $cross_arm64 == 1 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${sudo[@]}" dpkg --add-architecture arm64
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
