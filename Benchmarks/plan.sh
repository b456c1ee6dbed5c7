#!/usr/bin/env bash
# Planning speed on large recipes: validate and plan a text2image -> label -> export
# workflow whose prompt matrix and seed range give N generated images (default 100,000),
# then report the median wall time of 5 runs of each command.
#   Benchmarks/plan.sh [SEEDS]   (images = 400 prompts x SEEDS)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-250}"
swift build -c release --product synthset >/dev/null
bin=.build/release/synthset
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/big.yaml" <<YAML
version: 1
name: big
hardware: { gpu: h100-sxm, count: 8 }
prompts:
  line:
    template: "A conveyor belt. {color} cans on a {belt} belt. {light} Seen {view}."
    vars:
      color: [Orange, Blue, Rainbow, Silver, Red]
      belt: [green, white, black, grey, blue]
      light: ["Well lit.", "Dim yellow lights.", "Harsh daylight.", "Night shift."]
      view: ["from above", "from the side", "at an angle", "close up"]
steps:
  images:
    uses: cosmos-predict2/text2image
    model: 2B
    prompts: [line]
    seeds: 0..$((seeds - 1))
    options: { disable_guardrail: true }
  labels:
    uses: grounded-sam2/label
    from: images
    classes: { can: can }
  dataset:
    uses: export
    from: labels
YAML

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() {
  for _ in 1 2 3 4 5; do
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    awk "BEGIN {print $end - $start}"
  done | median
}
items=$((400 * seeds))
echo "recipe: $items text2image items + $items label items + 1 export item, 8 x h100-sxm"
echo "validate: median $(time_it "$bin" validate "$dir/big.yaml") s over 5 runs"
echo "plan (table): median $(time_it "$bin" plan "$dir/big.yaml") s over 5 runs"
echo "plan (json): median $(time_it "$bin" plan "$dir/big.yaml" --format json) s over 5 runs"
/usr/bin/time -f "plan peak memory: %M KB" "$bin" plan "$dir/big.yaml" >/dev/null
