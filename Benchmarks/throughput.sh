#!/usr/bin/env bash
# Does per-item cost grow with the run? Runs the procedural workflow with N images
# (default 1,000,000) at a small size (SIZE=WxH, default 64x48) with 2 jobs, sampling the
# run's resident memory every 5 s, then prints images/s for each tenth of the items in
# the order the store recorded them finished (`finished_at` in state.db; the first tenth
# is timed from the first finished item, so start-up and planning are left out) and the
# peak memory seen during that tenth. Long: run it in the background with its output
# to a file. KEEP=DIR keeps the workspace there (for export.sh or a later look).
#   [SIZE=WxH] [DROP_CACHES=0] Benchmarks/throughput.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
. Benchmarks/common.sh
bench_setup
bench_size 64x48
scenes_recipe long $count "$dir/long.yaml"
cd "$dir"
# The page cache: once a run has filled free memory, the kernel reclaims a page for
# every page it writes, and writing the same bytes got 5x dearer here (dd into tmpfs:
# 0.3 s per GB with free pages, 1.5 s with reclaim), which showed as slower late tenths.
# Dropped first when this runs as root (DROP_CACHES=0 keeps it), so the tenths measure
# synthset; the free memory at the start is printed either way.
sync
if [ "${DROP_CACHES:-1}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
free_mb=$(awk '/^MemFree/ {printf "%.0f", $2 / 1024}' /proc/meminfo)
# Background writeback starts after this much dirty data (vm.dirty_background_*, of the
# memory the kernel counts as dirtyable, about MemAvailable): until then writes cost no
# disk work, so a run's first GBs go faster than the rest (here: 2.3 GB, 270,000 images).
writeback_mb=$(awk -v bytes="$(cat /proc/sys/vm/dirty_background_bytes 2>/dev/null || echo 0)" \
  -v ratio="$(cat /proc/sys/vm/dirty_background_ratio 2>/dev/null || echo 10)" \
  '/^MemAvailable/ {printf "%.0f", (bytes > 0 ? bytes / 1048576 : $2 / 1024 * ratio / 100)}' /proc/meminfo)
start=$(date +%s.%N)
"$bin" run long.yaml --jobs 2 > run.log 2>&1 &
pid=$!
: > rss
while kill -0 "$pid" 2>/dev/null; do
  kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$kb" ] && echo "$(date +%s.%N) $kb" >> rss
  sleep 5
done
wait "$pid" || { echo "the run failed:" >&2; tail -20 run.log >&2; exit 1; }
end=$(date +%s.%N)
db=.synthset/long/state.db
sqlite3 "$db" "SELECT finished_at FROM items WHERE status = 'done' ORDER BY finished_at" > finished
done_items=$(wc -l < finished)
[ "$done_items" = "$count" ] || { echo "the store has $done_items of $count items done" >&2; exit 1; }
echo "procedural run: $count images (${width}x${height}), --jobs 2, $(awk "BEGIN {printf \"%.0f\", $end - $start}") s wall, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "free memory at the start: $free_mb MB; writeback from about $writeback_mb MB of dirty data; the workspace holds $(du -sm .synthset | cut -f1) MB"
echo "tenth  items/s  peak RSS MB"
awk -v n="$count" -v start="$start" 'NR == FNR {t[NR] = $1; k[NR] = $2; m = NR; next}
  {f[FNR] = $1}
  END {
    first = 1; prev = f[1]; lo = 1e18; hi = 0
    for (d = 1; d <= 10; d++) {
      last = int(n * d / 10); end = f[last]
      peak = 0
      for (i = 1; i <= m; i++) if (t[i] >= prev && t[i] <= end && k[i] > peak) peak = k[i]
      rate = (last - first) / (end - prev)
      if (rate < lo) lo = rate; if (rate > hi) hi = rate
      if (d == 1) r1 = rate; if (d == 10) r10 = rate
      printf "%5d  %7.0f  %11.0f\n", d, rate, peak / 1024
      first = last; prev = end
    }
    printf "last tenth / first tenth: %.2f; slowest / fastest tenth: %.2f (goal: within 10%%)\n", r10 / r1, lo / hi
  }' rss finished
echo "peak RSS over the run: $(sort -k2 -n rss | tail -1 | awk '{printf "%.0f", $2 / 1024}') MB"
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; mv long.yaml .synthset "$KEEP"/; fi
