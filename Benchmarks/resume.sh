#!/usr/bin/env bash
# What a crash costs: run the procedural workflow with N images (default 2,000) once,
# then time a re-run that has nothing left to do (re-plan, check every item against the
# store and the file system) and a re-run after deleting 1% of the outputs.
#   Benchmarks/resume.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-2000}"
. Benchmarks/common.sh
bench_setup
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
full=$(seconds "$bin" run resume.yaml)
echo "full run: $count images (640x480) in $full s = $(awk "BEGIN {printf \"%.1f\", $count / $full}") images/s"
noop=$(for _ in 1 2 3 4 5; do seconds "$bin" run resume.yaml; done | median)
echo "re-run with nothing to do: median $noop s over 5 runs"
ls .synthset/resume/outputs/scenes/*.jpg | awk 'NR % 100 == 0' | xargs rm -f
echo "re-run after deleting 1% of the images: $(seconds "$bin" run resume.yaml) s"
