#!/usr/bin/env bash
# Executor overhead against GNU make (and Snakemake when installed): a DAG of N trivial
# `generate` items (default 1,000) and one `label` item per generated file, each a
# `/bin/sh -c` one-liner, run with 2 jobs. Every repeat (default 3) runs synthset and
# `make -r -j2` on the same DAG back to back in fresh folders, so each ratio compares runs
# taken under the same load; the script prints the median times and the median ratio.
# Snakemake (`.build/bench-venv/bin/snakemake`, see compare-snakemake.sh) runs once, when
# installed. It also prints the CPU time (user + system, the tools' included) each tool
# took: on a machine with as many cores as jobs, the run is CPU-bound, and the CPU that
# synthset spends besides the tools' is what its wall time lacks against make's.
#   Benchmarks/executor.sh [N] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000}"
repeats="${2:-3}"
. Benchmarks/common.sh
bench_setup
smk=$PWD/.build/bench-venv/bin/snakemake

# The one-liners both tools run: write the seed, then copy the file with a label line.
generate='echo "item $1" > "$2"'
label='{ cat "$1"; echo label; } > "$2"'
label_template='{{ cat "$1"; echo label; }} > "$2"'  # braces doubled: synthset templates

write_recipe() { # folder
  cat > "$1/dag.yaml" <<YAML
version: 1
name: dag
steps:
  generate:
    uses: command
    program: /bin/sh
    args: ["-c", '$generate', "sh", "{seed}", "{output}"]
    output: txt
    seeds: 0..$((count - 1))
  label:
    uses: command
    from: generate
    program: /bin/sh
    args: ["-c", '$label_template', "sh", "{input}", "{output}"]
    output: txt
YAML
}

write_makefile() { # folder
  {
    echo "all: \$(patsubst %,label/%.txt,\$(shell seq 0 $((count - 1))))"
    echo ".SUFFIXES:"   # with make -r: no built-in implicit rules to search
    echo ".SECONDARY:"  # keep gen/*.txt, as synthset keeps every output
    echo "gen label:"
    echo "	@mkdir -p \$@"
    echo "gen/%.txt: | gen"
    echo "	@/bin/sh -c '${generate//\$/\$\$}' sh \$* \$@"
    echo "label/%.txt: gen/%.txt | label"
    echo "	@/bin/sh -c '${label//\$/\$\$}' sh \$< \$@"
  } > "$1/Makefile"
}

write_snakefile() { # folder
  cat > "$1/Snakefile" <<'PY'
rule all:
    input: expand("label/{s}.txt", s=range(int(config["count"])))

rule generate:
    output: "gen/{s}.txt"
    shell: """/bin/sh -c 'echo "item $1" > "$2"' sh {wildcards.s} {output}"""

rule label:
    input: "gen/{s}.txt"
    output: "label/{s}.txt"
    shell: """/bin/sh -c '{{ cat "$1"; echo label; }} > "$2"' sh {input} {output}"""
PY
}

# cpu_seconds CMD...: user + system seconds of CMD and the children it waited for.
cpu_seconds() {
  local TIMEFORMAT='%U %S' times
  times=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
  awk -v t="$times" 'BEGIN {split(t, a, " "); print a[1] + a[2]}'
}

: > "$dir/times"
: > "$dir/cpu"
for run in $(seq "$repeats"); do
  ss=$dir/ss-$run mk=$dir/mk-$run
  mkdir -p "$ss" "$mk"
  write_recipe "$ss"; write_makefile "$mk"
  s=$(cd "$ss" && seconds "$bin" run dag.yaml --jobs 2)
  done_items=$(sqlite3 "$ss/.synthset/dag/state.db" "SELECT COUNT(*) FROM items WHERE status = 'done'" 2>/dev/null || echo "?")
  [ "$done_items" = $((2 * count)) ] || { echo "synthset finished $done_items of $((2 * count)) items" >&2; exit 1; }
  m=$(cd "$mk" && seconds make -r -j2)
  [ "$(ls "$mk/label" | wc -l)" = "$count" ] || { echo "make did not build every target" >&2; exit 1; }
  echo "$s $m" >> "$dir/times"
  # Once more each, for their CPU time (fresh folders, as above).
  mkdir -p "$ss-cpu" "$mk-cpu"
  write_recipe "$ss-cpu"; write_makefile "$mk-cpu"
  echo "$(cd "$ss-cpu" && cpu_seconds "$bin" run dag.yaml --jobs 2) $(cd "$mk-cpu" && cpu_seconds make -r -j2)" >> "$dir/cpu"
  echo "run $run: synthset $s s, make -r -j2 $m s, ratio $(awk "BEGIN {printf \"%.2f\", $s / $m}")"
  # Kept, not deleted, until the temp folder goes: ext4 without a journal skips inodes
  # freed in the last minutes when it makes new ones (recently_deleted() in
  # fs/ext4/ialloc.c), so the next repeat, right after removing 6,000 files, measured
  # the kernel's inode search more than either tool (see export.sh).
done
ss_s=$(awk '{print $1}' "$dir/times" | median)
mk_s=$(awk '{print $2}' "$dir/times" | median)
ratio=$(awk '{print $1 / $2}' "$dir/times" | median)
echo "executor DAG: $count generate + $count label command items (/bin/sh -c one-liners), 2 jobs"
echo "synthset run --jobs 2: median $ss_s s over $repeats runs"
echo "make -r -j2: median $mk_s s over $repeats runs"
printf 'ratio synthset / make: median %.2f (goal: within 1.3)\n' "$ratio"
echo "CPU (user + system, tools included): synthset median $(awk '{print $1}' "$dir/cpu" | median) s, make median $(awk '{print $2}' "$dir/cpu" | median) s"
if [ -x "$smk" ]; then
  sm=$dir/smk; mkdir -p "$sm"; write_snakefile "$sm"
  t=$(cd "$sm" && seconds "$smk" -j2 --quiet --config count="$count")
  [ "$(ls "$sm/label" 2>/dev/null | wc -l)" = "$count" ] || echo "warning: snakemake did not build every target"
  echo "snakemake -j2 --quiet ($("$smk" --version)): $t s (1 run), ratio to make $(awk "BEGIN {printf \"%.1f\", $t / $mk_s}")"
else
  echo "snakemake: not installed (.build/bench-venv; Benchmarks/compare-snakemake.sh installs it)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
