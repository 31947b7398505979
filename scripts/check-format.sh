#!/usr/bin/env bash
# Fails naming every tracked C++ file that clang-format (.clang-format at the
# root) would change. Run by scripts/test.sh; fix with `clang-format -i FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format not found (scripts/setup-deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find . \( -name '*.cpp' -o -name '*.h' \) -not -path './build*' -not -path './.git/*')
# Batches of 64 files per clang-format, one batch per core (a process per
# file cost 26 s of the 30 s a no-change test.sh took on top of ctest); only
# when a batch fails are its files checked one by one to name them.
bad=()
if ! printf '%s\0' "${files[@]}" |
  xargs -0 -n 64 -P "$(nproc)" clang-format --dry-run -Werror >/dev/null 2>&1; then
  for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
fi
if ((${#bad[@]})); then
  echo "check-format: ${#bad[@]} file(s) not clang-formatted (run clang-format -i):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clang-formatted"
