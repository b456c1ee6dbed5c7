#!/usr/bin/env bash
# The main job: build synthset and run the procedural demo (no GPU needed): 200 scenes of
# cans, boxes and pallets with exact boxes, exported as Pascal VOC, COCO, YOLO and
# Edge Impulse datasets, and a QC report page to open in a browser. A second run finds
# everything done and redoes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release --product synthset
swift build -c release --product synthset-supervise  # ends tools if synthset is killed
workflow="${1:-workflows/demo-export.yaml}"
.build/release/synthset plan "$workflow"
.build/release/synthset run "$workflow"
.build/release/synthset status "$workflow"
# The QC report: one static page (gallery with boxes, per-class figures, plan vs actual).
.build/release/synthset report "$workflow"
workspace="$(dirname "$workflow")/.synthset/$(sed -n 's/^name: *//p' "$workflow" | head -n 1)"
echo
echo "images and ground truth: $workspace/outputs/scenes/"
for dataset in "$workspace"/outputs/dataset/*/; do
  [ -d "$dataset" ] && echo "dataset: $dataset (layout: docs/datasets.md)"
done
