#!/usr/bin/env bash
# edgefl-client for 64-bit ARM (aarch64): cross-builds it with Debian's
# g++-aarch64-linux-gnu and the arm64 -dev packages (multiarch), runs the nn
# tests built for arm64 under qemu-user (the portable kernels, no AVX), then
# a federation of one arm64 client under qemu-aarch64 and one x86 client with
# the x86 edgefl-coordinator, over mutual TLS on loopback.
#
#   scripts/cross-arm64.sh [OUT_DIR]     (default: build-arm64/federation)
#
# Needs scripts/setup-deps.sh --cross-arm64 (run here unless
# EDGEFL_SKIP_DEPS=1). Builds the x86 programs in $EDGEFL_BUILD_DIR (build/)
# through scripts/build.sh and the arm64 ones in $EDGEFL_ARM64_BUILD_DIR
# (build-arm64/). Fails unless both clients' round-1 updates are accepted
# in the coordinator's experiment log. Prints the arm64 binary's size and
# each client's peak RSS (GNU time's maximum resident set size; the arm64
# client's is the qemu-aarch64 process's: guest memory plus the emulator's
# translation cache, an upper bound on what the client needs on a device).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-${EDGEFL_ARM64_BUILD_DIR:-build-arm64}/federation}
build_dir=${EDGEFL_BUILD_DIR:-build}
arm_dir=${EDGEFL_ARM64_BUILD_DIR:-build-arm64}
# qemu-aarch64 -L /: the arm64 programs' libraries are the multiarch ones
# (libc6:arm64 in /lib/aarch64-linux-gnu, ld.so in /lib). With
# -L /usr/aarch64-linux-gnu, the cross toolchain's ld.so (another glibc
# build) loads the multiarch libc.so.6 that /etc/ld.so.cache names, and the
# mix hangs in the first pthread_create.
qemu=(qemu-aarch64 -L /)

scripts/setup-deps.sh --cross-arm64

echo "cross-arm64: x86 edgefl and edgefl-coordinator in $build_dir"
EDGEFL_TARGETS="edgefl edgefl-client edgefl-coordinator" scripts/build.sh >/dev/null

echo "cross-arm64: cross-building edgefl-client and the nn tests in $arm_dir"
if [[ ! -f "$arm_dir/build.ninja" ]]; then
  cmake -S . -B "$arm_dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
    -DCMAKE_BUILD_TYPE=Release -DEDGEFL_NATIVE=OFF -DEDGEFL_WERROR=ON -DEDGEFL_MPI=OFF \
    -DEDGEFL_BUILD_TESTS=ON -DEDGEFL_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$arm_dir" -j "$(nproc)" --target edgefl-client edgefl_nn_tests
arm_client="$arm_dir/client/edgefl-client"
file -b "$arm_client" | grep -q 'ARM aarch64' ||
  { echo "cross-arm64: $arm_client is not an aarch64 program: $(file -b "$arm_client")" >&2; exit 1; }

# Every nn test but the Fashion-MNIST training runs (minutes under qemu):
# the kernels against double-precision products and finite differences, and
# tests/nn/kernel_reference.txt (the values an x86 build computed).
echo "cross-arm64: the nn tests under qemu-aarch64"
"${qemu[@]}" "$arm_dir/tests/edgefl_nn_tests" --no-version=true --minimal=true \
  -tce="Fashion-MNIST sanity*"

rm -rf "$out"
mkdir -p "$out"
# The client with --index 0 is the arm64 build under qemu, the others the x86
# build; GNU time records each one's peak RSS in OUT/rss-client-K.kb, and
# each writes its counters to OUT/client-K.prom (--metrics).
wrapper="$out/edgefl-client-mixed"
cat >"$wrapper" <<EOF
#!/usr/bin/env bash
index=""
args=("\$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  [[ \${args[i]} == --index ]] && index=\${args[i + 1]}
done
if [[ \$index == 0 ]]; then
  exec /usr/bin/time -f %M -o "$PWD/$out/rss-client-\$index.kb" ${qemu[*]} "$PWD/$arm_client" "\$@" \\
  --metrics "$PWD/$out/client-\$index.prom"
fi
exec /usr/bin/time -f %M -o "$PWD/$out/rss-client-\$index.kb" "$PWD/$build_dir/client/edgefl-client" "\$@" \\
  --metrics "$PWD/$out/client-\$index.prom"
EOF
chmod +x "$wrapper"

echo "cross-arm64: federation (1 round): client-0 arm64 under qemu, client-1 x86"
EDGEFL_CLIENT="$wrapper" scripts/federation.sh "$out" 2 --set rounds=1 --set test_subset=1000 \
  --set local_steps=50 --set eval_every=1 >/dev/null

db="$out/federation.db"
accepted=$(sqlite3 "$db" "SELECT client_id FROM client_updates WHERE round = 1 AND status = 'accepted' ORDER BY client_id" | tr '\n' ' ')
if [[ $accepted != "client-0 client-1 " ]]; then
  echo "cross-arm64: round 1 accepted updates from '$accepted', expected client-0 and client-1" >&2
  sqlite3 "$db" "SELECT client_id, status, reason FROM client_updates" >&2
  exit 1
fi
loss=$(sqlite3 "$db" "SELECT client_id || ': loss ' || printf('%.4f', loss_before) || ' -> ' || printf('%.4f', loss_after) FROM client_updates WHERE round = 1 ORDER BY client_id")
echo "cross-arm64: round 1 committed with both updates accepted:"
echo "$loss" | sed 's/^/  /'
strip_size=$(aarch64-linux-gnu-strip -o "$out/edgefl-client.stripped" "$arm_client" && stat -c %s "$out/edgefl-client.stripped")
x86_strip=$(strip -o "$out/edgefl-client-x86.stripped" "$build_dir/client/edgefl-client" && stat -c %s "$out/edgefl-client-x86.stripped")
echo "cross-arm64: edgefl-client arm64 $(stat -c %s "$arm_client") bytes ($strip_size stripped);" \
  "x86 $(stat -c %s "$build_dir/client/edgefl-client") bytes ($x86_strip stripped)"
echo "cross-arm64: peak RSS arm64 client under qemu-aarch64 $(cat "$out/rss-client-0.kb") KB" \
  "(the emulator process's), x86 client $(cat "$out/rss-client-1.kb") KB"
echo "cross-arm64: the arm64 client's metrics file (the emulator's RSS):"
grep -v '^#' "$out/client-0.prom" | sed 's/^/  /'
echo "cross-arm64: shared libraries the arm64 client needs:"
aarch64-linux-gnu-readelf -d "$arm_client" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/  \1/p'
