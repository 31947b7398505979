#!/usr/bin/env bash
# Builds edgefl with sanitizers and runs tests under them.
#   scripts/sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer,
#                              the whole test suite, in build-asan/
#   scripts/sanitize.sh tsan   ThreadSanitizer, the concurrency tests (thread
#                              pool, TLS server and sessions, client registry,
#                              round engine, simulation, federation), in
#                              build-tsan/
# Any report fails the test that triggered it (halt_on_error; UBSan does not
# recover). Child processes the tests start (edgefl-coordinator,
# edgefl-client) are sanitized builds too and inherit the options.
# docs/robustness.md records what runs and how long it takes.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  asan)
    build_dir=${EDGEFL_BUILD_DIR:-build-asan}
    sanitize=address,undefined
    targets=()  # all
    # All but the install test: the sanitized build installs nothing (an
    # instrumented archive would need an instrumented app; CMakeLists.txt).
    # Minus the install and .deb tests (a sanitized build installs nothing) and the
    # tests that re-run one method's numerics at length (docs/robustness.md):
    # their code runs under ASan in the short tests of its own area. Among
    # them "examples: every config runs" (every example config for a round:
    # each method's code is in its own tests; TSan keeps it for the thread
    # pool), the longest test of the suite (131 s in Release, loaded).
    tests=(-E '^scripts/(install|deb)|^sim/examples: every config runs|^nn/Fashion-MNIST sanity|^algorithms/convex relu: federated|^sim/(convex_relu simulation|DiPaCo simulation|D-SGD simulation: (logs|nodes that drop)|resume: |keep_client_models stores|the kept local models)|^coordinator/(convex_relu federation|language model federation: (an LSTM|a causal transformer|a GRU with int8|a GRU learns by asynchronous))')
    ;;
  tsan)
    build_dir=${EDGEFL_BUILD_DIR:-build-tsan}
    sanitize=thread
    # Every engine, simulator and coordinator test (round engines, thread
    # pool, simulations, TLS server and sessions, client registry, federation
    # with real processes)
    # and the wire tests (TLS handshakes on real sockets); only their
    # executables and the binaries they run are built.
    # The client tests too: the C API's stop() shuts a session down from
    # another thread.
    targets=(--target edgefl_engine_tests edgefl_sim_tests edgefl_coordinator_tests edgefl_wire_tests
             edgefl_client_tests)
    tests=(-R '^(engine|sim|coordinator|wire|client)/')
    # Minus the simulator tests that re-run one method's numerics at length:
    # their methods train on the same thread pool in "examples: every config
    # runs" (every example, every method), which stays, and they run under
    # ASan and in the Release suite. Under TSan (10x) they were half of the
    # stage's time (CI stop 28: 932 s of ctest).
    # Likewise the two convex ReLU federations (ADMM numerics over the same
    # TLS sessions every other federation test drives: 131 s at stop 28).
    # And the C app's federation: the session code every other federation
    # test drives, from a C program. And the language models' federations
    # but the GRU's and its DP + SecAgg+ run: the same sessions with another
    # model's numerics (LSTM, transformer), codec or engine (int8, FedBuff),
    # each covered under TSan by its image-model test.
    # And the 3-level tree and the secure root with devices beside an
    # aggregator: the 2-level trees' threads (a server below, a link above)
    # with more of the same code.
    tests+=(-E '^sim/(convex_relu simulation|DiPaCo simulation|D-SGD simulation: (logs|nodes that drop)|resume: |keep_client_models stores|the kept local models|no client model is stored)|^coordinator/(convex_relu federation|C API federation|edge aggregators: a 3-level tree|edge aggregators with secure aggregation: devices beside|language model federation: (an LSTM|a causal transformer|a GRU with int8|a GRU learns by asynchronous))')
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac

./scripts/setup-deps.sh
# -g1: line numbers in the sanitizers' stack traces at little build cost.
# No bench/: it is not tested, and building it would only cost CI time.
# The ASan build: clang 16 at -O2. Instrumented code compiles ~40 % faster
# with clang than with gcc, and ~30 % faster at -O2 than at -O3
# (docs/robustness.md); -O1 ran the suite 2-5x slower. TSan (gcc) compiles as
# fast at -O3 as at -O2. One level for the whole build: the bit-for-bit tests
# compare binaries that share inline code.
opt=(-DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG")
if [[ $mode == asan ]]; then
  opt=(-DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
       -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG")
fi
# The TSan build parses every file's headers itself (no precompiled header,
# EDGEFL_PCH): one CI build where a missing #include fails to compile.
if [[ $mode == tsan ]]; then opt+=(-DEDGEFL_PCH=OFF); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEFL_WERROR=ON \
  -DEDGEFL_BUILD_TESTS=ON -DEDGEFL_BUILD_BENCH=OFF -DEDGEFL_SANITIZE="$sanitize" \
  -DCMAKE_CXX_FLAGS=-g1 "${opt[@]}"
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "${tests[@]}"
