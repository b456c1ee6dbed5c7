#!/usr/bin/env bash
# Planning speed of two synthset builds side by side (e.g. a baseline commit's release
# build against the current one), on plan.sh's recipe: 400 prompts x SEEDS text2image
# images -> labels -> export. Runs interleave (base, new, base, new, ...) so both see
# the same load; prints the median of RUNS runs of each command and the ratio new/base.
#   Benchmarks/compare-builds.sh BASE_BINARY NEW_BINARY [SEEDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
base="$1"; new="$2"; seeds="${3:-250}"; runs="${4:-7}"
. Benchmarks/common.sh
. Benchmarks/recipe.sh
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
recipe "$seeds" "$dir/big.yaml"
echo "recipe: $("$new" validate "$dir/big.yaml")"
for command in "validate" "plan" "plan --format json"; do
  : > "$dir/base"; : > "$dir/new"
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086
    seconds "$base" $command "$dir/big.yaml" >> "$dir/base"
    # shellcheck disable=SC2086
    seconds "$new" $command "$dir/big.yaml" >> "$dir/new"
  done
  b=$(median < "$dir/base"); n=$(median < "$dir/new")
  echo "$command: base median $b s, new median $n s, ratio $(awk "BEGIN {printf \"%.2f\", $n / $b}") ($runs interleaved runs each)"
done
