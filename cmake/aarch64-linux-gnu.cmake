# Cross-compiling edgefl for 64-bit ARM Linux (aarch64) on a Debian x86-64
# host, with Debian's cross toolchain and multiarch -dev packages
# (scripts/setup-deps.sh --cross-arm64; scripts/cross-arm64.sh uses this):
#   cmake -S . -B build-arm64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DEDGEFL_NATIVE=OFF
# Libraries are the arm64 ones in /usr/lib/aarch64-linux-gnu (libssl-dev:arm64,
# zlib1g-dev:arm64, ...); header-only ones (Boost.Asio, Eigen, cxxopts,
# doctest) come from the host's /usr/include. Programs built here run on the
# host under qemu-user (the CMAKE_CROSSCOMPILING_EMULATOR below, used by
# doctest's test discovery and ctest).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: arm64 libraries and their CMake packages under
# /usr/lib/aarch64-linux-gnu, next to the host's x86_64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# -L /: the multiarch arm64 libraries (libc6:arm64's ld.so and libc.so.6),
# never the cross toolchain's /usr/aarch64-linux-gnu ld.so with the
# multiarch libc.so.6, which hangs in pthread_create (scripts/cross-arm64.sh).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
# pkg-config must answer for the target's .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
