#!/usr/bin/env bash
# What a crash costs: run the procedural workflow with N images (default 2,000) once,
# then time a re-run that has nothing left to do (re-plan, check every item against the
# store and the file system) and a re-run after deleting 1% of the outputs.
#   Benchmarks/resume.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-2000}"
swift build -c release --product synthset >/dev/null
bin=$PWD/.build/release/synthset
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/resume.yaml" <<YAML
version: 1
name: resume
steps:
  scenes:
    uses: procedural/scenes
    seeds: 0..$((count - 1))
    size: [640, 480]
    objects:
      can: { shape: cylinder, colors: [red, blue, silver], size: [0.12, 0.3], count: [1, 5] }
      box: { shape: box, colors: [cardboard], size: [0.15, 0.35], count: [0, 3] }
YAML
cd "$dir"
start=$(date +%s.%N); "$bin" run resume.yaml >/dev/null 2>&1; end=$(date +%s.%N)
full=$(awk "BEGIN {print $end - $start}")
echo "full run: $count images (640x480) in $full s = $(awk "BEGIN {printf \"%.1f\", $count / $full}") images/s"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
noop=$(for _ in 1 2 3 4 5; do
  start=$(date +%s.%N); "$bin" run resume.yaml >/dev/null 2>&1; end=$(date +%s.%N); awk "BEGIN {print $end - $start}"
done | median)
echo "re-run with nothing to do: median $noop s over 5 runs"
ls .synthset/resume/outputs/scenes/*.jpg | awk 'NR % 100 == 0' | xargs rm -f
start=$(date +%s.%N); "$bin" run resume.yaml >/dev/null 2>&1; end=$(date +%s.%N)
echo "re-run after deleting 1% of the images: $(awk "BEGIN {print $end - $start}") s"
