# Helpers the benchmark scripts source, after changing to the repository root.

# Builds the release synthset into $bin and makes a temporary folder $dir, removed on exit.
# SYNTHSET_BIN=path times that binary instead (no build: e.g. while a debug build holds
# .build, or to compare two builds).
bench_setup() {
  if [ -n "${SYNTHSET_BIN:-}" ]; then
    bin=$(realpath "$SYNTHSET_BIN")
  else
    swift build -c release --product synthset >/dev/null
    bin=$PWD/.build/release/synthset
  fi
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
}

# The median of the numbers on stdin, one per line (the mean of the middle two when even).
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'; }

# seconds CMD...: the wall-clock seconds of one run of CMD, its output discarded.
seconds() {
  local start end
  start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
  awk "BEGIN {print $end - $start}"
}
