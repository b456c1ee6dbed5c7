#!/usr/bin/env bash
# Planning speed against Snakemake: the workflow of Benchmarks/plan.sh (a 400-prompt
# text2image matrix x SEEDS seeds -> one label item per image -> one export item) is
# planned by `synthset plan` (median of 5) and written as an equivalent Snakefile that
# `snakemake -n --quiet` dry-runs (median of 3; 1 when a run takes over 60 s). Each SEEDS
# value gives one table row. The whole script keeps to a wall-clock budget (BUDGET
# seconds, default 570): a Snakemake run that would overrun it is stopped and reported as
# a lower bound (">"), and later runs are skipped.
#   Benchmarks/compare-snakemake.sh [SEEDS...]   (default: 1 25 250; images = 400 x SEEDS)
# Snakemake is installed from PyPI into .build/bench-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
start_s=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
budget="${BUDGET:-570}"
deadline=$((start_s + budget))
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1 25 250); fi
for s in "${sizes[@]}"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "SEEDS must be positive integers, got '$s'" >&2; exit 2; }
done

. Benchmarks/common.sh
bin=.build/release/synthset
[ -x "$bin" ] || swift build -c release --product synthset >/dev/null
venv=.build/bench-venv
if ! "$venv/bin/snakemake" --version >/dev/null 2>&1; then
  echo "installing snakemake into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check snakemake
fi
smk="$PWD/$venv/bin/snakemake"
have_time=false; [ -x /usr/bin/time ] && have_time=true

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The recipe of Benchmarks/plan.sh (400 prompts = 5 x 5 x 4 x 4).
. Benchmarks/recipe.sh

# The same DAG for Snakemake: 400 x SEEDS images, one label per image, one dataset over
# all labels, and the target rule `all` (Snakemake counts it as a job, synthset has no
# such item). Nothing runs: it is a dry run in an empty directory, so every job is due.
write_snakefile() { # seeds file
  cat > "$2" <<PY
PROMPTS = [f"p{i}" for i in range(400)]
SEEDS = range($1)

wildcard_constraints:
    p=r"p\d+",
    s=r"\d+",

rule all:
    input: "dataset/done"

rule dataset:
    input: expand("labels/{p}_{s}.json", p=PROMPTS, s=SEEDS)
    output: "dataset/done"
    shell: "touch {output}"

rule labels:
    input: "images/{p}_{s}.jpg"
    output: "labels/{p}_{s}.json"
    shell: "touch {output}"

rule images:
    output: "images/{p}_{s}.jpg"
    shell: "touch {output}"
PY
}

max() { sort -n | tail -1; }
now() { date +%s.%N; }
# timed LIMIT LOG CMD...: runs CMD under `timeout LIMIT`, output to LOG; appends
# "seconds peak_kb rc" to $dir/runs.
timed() {
  local limit=$1 log=$2; shift 2
  local t1 t2 rc=0
  t1=$(now)
  if $have_time; then
    /usr/bin/time -f "%M" -o "$dir/rss" timeout -k 10 "$limit" "$@" >"$log" 2>&1 || rc=$?
  else
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 || rc=$?
  fi
  t2=$(now)
  local kb=-; $have_time && kb=$(grep -E '^[0-9]+$' "$dir/rss" | tail -1 || true)
  echo "$(awk "BEGIN {print $t2 - $t1}") ${kb:--} $rc" >> "$dir/runs"
  return 0
}
fail_if_error() { # log rc what
  if [ "$2" != 0 ] && [ "$2" != 124 ] && [ "$2" != 137 ]; then
    echo "$3 failed (exit $2):" >&2; tail -20 "$1" >&2; exit 1
  fi
}
mb() { [ "$1" = - ] && echo - || awk "BEGIN {printf \"%.0f\", $1 / 1024}"; }

# Sanity check: the Snakefile gives 2 x images + 2 jobs (`--quiet rules` prints the
# per-rule job counts that a bare `--quiet` leaves out). Checked once, with SEEDS=1.
probe=$dir/probe; mkdir -p "$probe"
write_snakefile 1 "$probe/Snakefile"
"$smk" -n --quiet rules -j 1 --snakefile "$probe/Snakefile" --directory "$probe" >"$probe/log" 2>&1 \
  || { echo "snakemake probe failed:" >&2; tail -20 "$probe/log" >&2; exit 1; }
got=$(awk '$1 == "total" {print $2; exit}' "$probe/log")
[ "$got" = 802 ] || { echo "Snakefile has $got jobs for SEEDS=1, expected 802" >&2; exit 1; }

rows=()
fmt='%7s  %8s  %8s  %-18s  %11s  %-17s  %10s  %7s'
stopped=false
for seeds in "${sizes[@]}"; do
  images=$((400 * seeds)); items=$((2 * images + 1)); jobs=$((2 * images + 2))
  wd=$dir/s$seeds; mkdir -p "$wd"
  recipe "$seeds" "$wd/big.yaml"
  write_snakefile "$seeds" "$wd/Snakefile"

  : > "$dir/runs"
  for _ in 1 2 3 4 5; do timed 600 "$wd/plan.log" "$bin" plan "$wd/big.yaml"; done
  while read -r _ _ rc; do
    [ "$rc" = 0 ] || { echo "synthset plan failed (exit $rc):" >&2; tail -20 "$wd/plan.log" >&2; exit 1; }
  done < "$dir/runs"
  syn_s=$(awk '{print $1}' "$dir/runs" | median); syn_kb=$(awk '{print $2}' "$dir/runs" | max)

  smk_s=skipped; smk_runs=0; smk_kb=-; bound=""
  if ! $stopped; then
    : > "$dir/runs"
    for run in 1 2 3; do
      left=$((deadline - $(date +%s)))
      if [ "$run" -gt 1 ]; then
        first=$(awk 'NR == 1 {print $1}' "$dir/runs")
        # One run only when it took over 60 s, or when another would not fit the budget.
        awk "BEGIN {exit !($first > 60 || $first * 1.2 > $left)}" && break
      fi
      if [ "$left" -lt 10 ]; then break; fi
      timed "$left" "$wd/smk.log" "$smk" -n --quiet -j 1 --snakefile "$wd/Snakefile" --directory "$wd"
      rc=$(awk 'END {print $3}' "$dir/runs")
      fail_if_error "$wd/smk.log" "$rc" "snakemake -n"
      if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then bound=">"; stopped=true; break; fi
    done
    smk_runs=$(wc -l < "$dir/runs")
    if [ "$smk_runs" -gt 0 ]; then
      if [ -n "$bound" ]; then smk_s=$(awk 'END {print $1}' "$dir/runs")
      else smk_s=$(awk '{print $1}' "$dir/runs" | median); fi
      smk_kb=$(awk '{print $2}' "$dir/runs" | max)
    else
      smk_s=skipped; stopped=true
    fi
  fi
  if [ "$smk_s" = skipped ]; then ratio=-; smk_col="skipped (budget)"
  else
    ratio="$bound$(awk "BEGIN {r = $smk_s / $syn_s; printf (r < 10 ? \"%.1f\" : \"%.0f\"), r}")x"
    smk_col="$bound$(printf '%.2f' "$smk_s") ($smk_runs)"
  fi
  rows+=("$(printf "$fmt" "$images" "$jobs" "$items" \
    "$smk_col" "$(mb "$smk_kb")" "$(printf '%.3f' "$syn_s") (5)" "$(mb "$syn_kb")" "$ratio")")
  rm -rf "$wd"
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
sha=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no -- Sources Package.swift)" ] || sha="$sha+dirty"
newer=$(find Sources Package.swift -newer "$bin" -print -quit 2>/dev/null || true)

echo "planning the Benchmarks/plan.sh workflow (400 prompts x SEEDS images -> labels -> export)"
echo "snakemake: $("$smk" --version), \`snakemake -n --quiet -j 1\` (dry run; per-job lines and job summary suppressed), fresh directory"
echo "synthset:  $sha, \`synthset plan\` (table output), release build"
echo
printf "$fmt\n" images "smk jobs" "ss items" "snakemake s (runs)" "smk peak MB" \
  "synthset s (runs)" "ss peak MB" ratio
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "seconds: wall time, median of the runs in brackets (process start-up included);"
echo "ratio = snakemake s / synthset s; '>' = Snakemake stopped at the time budget (lower bound)."
echo "machine: $(nproc) cores, load average $load_start at the start, $load_end at the end; total $(( $(date +%s) - start_s )) s"
[ -z "$newer" ] || echo "warning: $newer is newer than $bin; rebuild for figures of the current source"
