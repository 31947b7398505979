#!/usr/bin/env bash
# Checks the layering: every `#include "folder/file.h"` in a folder's code
# must name the folder itself or one the layering table in
# docs/architecture.md (section "Layering") allows it. Prints each include
# that is not allowed as "file:line: ..." and exits 1; exits 0 when all are.
#
#   scripts/check-layers.sh [--root DIR]     (default: the repository)
#
# The table is the rule: a row "| `engine/` | `common/`, `train/` |" lets
# engine/ include common/ and train/; "*" lets a folder include any. A
# folder with C++ files and no row is an error, so a new folder must be
# placed in the table before its code can land.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ ${1:-} == --root ]]; then
  [[ $# -eq 2 ]] || { echo "usage: scripts/check-layers.sh [--root DIR]" >&2; exit 2; }
  root="$(cd "$2" && pwd)"
elif [[ $# -gt 0 ]]; then
  echo "usage: scripts/check-layers.sh [--root DIR]" >&2
  exit 2
fi
table="$root/docs/architecture.md"
[[ -f $table ]] || { echo "check-layers: $table not found" >&2; exit 2; }

# folder<TAB>allowed folders (space-separated, or *), from the table's rows
# between the "## Layering" heading and the next heading.
rules=$(awk '
  /^## / { in_section = ($0 ~ /^## Layering/) ; next }
  in_section && /^\| `[a-z_]+\/` *\|/ {
    n = split($0, cell, "|")
    folder = cell[2]; gsub(/[ `\/]/, "", folder)
    allowed = cell[3]
    if (allowed ~ /\*/) { print folder "\t*"; next }
    gsub(/[`\/,]/, " ", allowed); gsub(/—|-/, " ", allowed); gsub(/  +/, " ", allowed)
    sub(/^ /, "", allowed); sub(/ $/, "", allowed)
    print folder "\t" allowed
  }' "$table")
if [[ -z $rules ]]; then
  echo "check-layers: no layering table under '## Layering' in $table" >&2
  exit 2
fi
declare -A allow
while IFS=$'\t' read -r folder allowed; do
  allow[$folder]="$allowed"
done <<<"$rules"

status=0
cd "$root"
# Every top-level folder holding C++ code needs a row.
for dir in */; do
  dir=${dir%/}
  [[ $dir == build* ]] && continue
  if [[ -z ${allow[$dir]+set} ]] &&
     [[ -n $(find "$dir" -name '*.h' -o -name '*.cpp' -o -name '*.cc' | head -1) ]]; then
    echo "check-layers: $dir/ holds C++ code but has no row in the layering table of docs/architecture.md" >&2
    status=1
  fi
done

for folder in "${!allow[@]}"; do
  allowed=${allow[$folder]}
  [[ $allowed == "*" || ! -d $folder ]] && continue
  while IFS=: read -r file line text; do
    # A bash match, not a sed per line: thousands of forks made the check slow.
    [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]+\"([a-z_]+)/ ]] || continue
    target=${BASH_REMATCH[1]}
    [[ $target == "$folder" ]] && continue
    [[ " $allowed " == *" $target "* ]] && continue
    echo "$file:$line: includes \"$target/\" but $folder/ may include only: ${allowed:-(nothing else)}" \
         "(docs/architecture.md, Layering)" >&2
    status=1
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$folder" \
             --include='*.h' --include='*.cpp' --include='*.cc' || true)
done
if [[ $status -eq 0 ]]; then
  echo "check-layers: every include follows the layering table (${#allow[@]} folders)"
fi
exit $status
