#!/usr/bin/env bash
# Planning speed on large recipes: validate and plan a text2image -> label -> export
# workflow whose prompt matrix and seed range give N generated images (default 100,000),
# then report the median wall time of 5 runs of each command. A second, larger recipe
# (default 1,000,000 images) is planned once, for time and peak memory.
#   Benchmarks/plan.sh [SEEDS] [LARGE_SEEDS]   (images = 400 prompts x SEEDS; LARGE_SEEDS=0 skips the large run)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-250}"
large="${2:-2500}"
. Benchmarks/common.sh
. Benchmarks/recipe.sh
bench_setup
time_it() { for _ in 1 2 3 4 5; do seconds "$@"; done | median; }
recipe "$seeds" "$dir/big.yaml"
items=$((400 * seeds))
# validate prints "ok (N items in K steps)": the real count (raw labeling plans a GPU
# candidates stage and a CPU labels stage per image).
count() { "$bin" validate "$1" | sed -n 's/.*ok (\([0-9]*\) items in \([0-9]*\) steps).*/\1 items in \2 planned steps/p'; }
echo "recipe: $items text2image images -> labels -> export: $(count "$dir/big.yaml"), 8 x h100-sxm"
echo "validate: median $(time_it "$bin" validate "$dir/big.yaml") s over 5 runs"
echo "plan (table): median $(time_it "$bin" plan "$dir/big.yaml") s over 5 runs"
echo "plan (json): median $(time_it "$bin" plan "$dir/big.yaml" --format json) s over 5 runs"
/usr/bin/time -f "plan peak memory: %M KB" "$bin" plan "$dir/big.yaml" >/dev/null
if [ "$large" -gt 0 ]; then
  recipe "$large" "$dir/large.yaml"
  items=$((400 * large))
  echo "large recipe: $items text2image images -> labels -> export: $(count "$dir/large.yaml"), one run each, no median"
  /usr/bin/time -f "plan (table): %e s, peak memory %M KB (1 run)" "$bin" plan "$dir/large.yaml" >/dev/null
  /usr/bin/time -f "plan (json): %e s, peak memory %M KB (1 run)" "$bin" plan "$dir/large.yaml" --format json >/dev/null
fi
