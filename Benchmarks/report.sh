#!/usr/bin/env bash
# The QC report at scale: run the procedural workflow with N images (default 10,000,
# 640x480, exported as YOLO for the split), then time `synthset report`:
#   - cold: thumbnails made (libjpeg 1/4 scaled decode + encode), median of 3 runs,
#     each writing a new page and thumbnail folder;
#   - warm: thumbnails cached, median of 5 runs;
# and open the page in headless Chromium (if installed) to count what the first page
# loads: only its 48 images, not N.
#   Benchmarks/report.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
. Benchmarks/common.sh
bench_setup
cat > "$dir/qc.yaml" <<YAML
version: 1
name: qc
steps:
  scenes:
    uses: procedural/scenes
    seeds: 0..$((count - 1))
    size: [640, 480]
    objects:
      can: { shape: cylinder, colors: [red, blue, silver], size: [0.12, 0.3], count: [1, 5] }
      box: { shape: box, colors: [cardboard], size: [0.15, 0.35], count: [0, 3] }
      pallet: { shape: pallet, colors: [wood], size: [0.1, 0.2], count: [0, 2] }
  dataset:
    uses: export
    from: scenes
    formats: [yolo]
    split: { train: 0.8, test: 0.2 }
YAML
cd "$dir"
echo "run: $count images in $(seconds "$bin" run qc.yaml) s"
# Each cold run writes a new page (and thumbnail folder), as a first report does.
cold=$(for n in 1 2 3; do seconds "$bin" report qc.yaml -o "cold-$n/report.html"; done | median)
echo "report, thumbnails made: median $cold s over 3 runs"
"$bin" report qc.yaml >/dev/null
warm=$(for _ in 1 2 3 4 5; do seconds "$bin" report qc.yaml; done | median)
echo "report, thumbnails cached: median $warm s over 5 runs"
page=.synthset/qc/report.html
echo "page: $(du -k "$page" | cut -f1) KB HTML, $(ls .synthset/qc/report_files/thumbs | wc -l) thumbnails, $(du -sk .synthset/qc/report_files | cut -f1) KB"
if command -v chromium >/dev/null; then
  profile=$(mktemp -d)
  start=$(date +%s.%N)
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    --dump-dom "file://$dir/$page" >dom.html 2>console.txt
  end=$(date +%s.%N)
  rm -rf "$profile"
  echo "chromium: first page loaded and dumped in $(awk "BEGIN {printf \"%.2f\", $end - $start}") s;" \
    "$(grep -o '<figure class="card"' dom.html | wc -l) cards, $(grep -o '<img ' dom.html | wc -l) <img> elements of $count images;" \
    "status: $(grep -o 'data-matching-images="[0-9]*"' dom.html) $(grep -o 'data-pages="[0-9]*"' dom.html);" \
    "uncaught errors: $(grep -c '"Uncaught ' console.txt || true)"
else
  echo "chromium: not installed (apt-get install chromium) - page load not measured"
fi
