#!/usr/bin/env bash
# What a crash costs: for each N (default 2,000), run the procedural workflow with N
# images once, then time a re-run that has nothing left to do (re-plan, check every
# item against the store and every output's size on the file system) and a re-run after
# deleting 1% of the outputs. Each no-op re-run is paired with GNU make's no-op over as
# many up-to-date targets, run right after it, so the ratio compares runs taken under
# the same load; medians of 5 pairs. make runs with -r and an empty .SUFFIXES: its
# built-in implicit rules would otherwise search for ways to remake every source and
# take 50 times as long. SIZE=WxH sets the image size (default 640x480; a
# small size keeps the first run of large N short).
#   [SIZE=WxH] Benchmarks/resume.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(2000); fi
. Benchmarks/common.sh
bench_setup
bench_size 640x480
for count in "${sizes[@]}"; do
  work=$dir/n$count; mkdir -p "$work/make"
  scenes_recipe resume $count "$work/resume.yaml"
  # make's side: N up-to-date targets, each from a pattern rule that would copy a source.
  (cd "$work/make" && mkdir -p src out
   seq 0 $((count - 1)) | sed 's|.*|src/&.txt|' | xargs touch -d '2020-01-01'
   seq 0 $((count - 1)) | sed 's|.*|out/&.txt|' | xargs touch
   { echo ".SUFFIXES:"
     echo "all: \$(patsubst %,out/%.txt,\$(shell seq 0 $((count - 1))))"
     echo "out/%.txt: src/%.txt"; echo "	cp \$< \$@"; } > Makefile
   [ "$(make -r -q >/dev/null 2>&1; echo $?)" = 0 ] || { echo "make's targets are not up to date" >&2; exit 1; })
  cd "$work"
  full=$(seconds "$bin" run resume.yaml)
  echo "N=$count: full run: $count images (${width}x${height}) in $full s = $(awk "BEGIN {printf \"%.1f\", $count / $full}") images/s"
  : > pairs
  for _ in 1 2 3 4 5; do
    s=$(seconds "$bin" run resume.yaml)
    m=$(cd make && seconds make -r)
    echo "$s $m" >> pairs
  done
  noop=$(awk '{print $1}' pairs | median); mk=$(awk '{print $2}' pairs | median)
  ratio=$(awk '{print $1 / $2}' pairs | median)
  echo "N=$count: re-run with nothing to do: median $noop s over 5 runs; make's no-op over $count targets: median $mk s; ratio median $(printf '%.1f' "$ratio")"
  find .synthset/resume/outputs/scenes -name "*.jpg" | sort | awk 'NR % 100 == 0' | xargs rm -f
  echo "N=$count: re-run after deleting 1% of the images: $(seconds "$bin" run resume.yaml) s"
  cd - >/dev/null
  rm -rf "$work"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
