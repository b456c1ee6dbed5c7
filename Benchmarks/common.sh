# Helpers the benchmark scripts source, after changing to the repository root.

# Builds the release synthset into $bin and makes a temporary folder $dir, removed on exit.
# SYNTHSET_BIN=path times that binary instead (no build: e.g. while a debug build holds
# .build, or to compare two builds).
bench_setup() {
  if [ -n "${SYNTHSET_BIN:-}" ]; then
    bin=$(realpath "$SYNTHSET_BIN")
  else
    # Its own scratch path: a release build never races a debug build in .build.
    swift build -c release --scratch-path .build-release --product synthset >/dev/null
    swift build -c release --scratch-path .build-release --product synthset-supervise >/dev/null
    bin=$PWD/.build-release/release/synthset
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

# bench_size DEFAULT: sets $width and $height from SIZE=WxH (or DEFAULT); exits 2 on a bad value.
bench_size() {
  local size="${SIZE:-$1}"
  [[ "$size" =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || { echo "SIZE must be WxH, got '$size'" >&2; exit 2; }
  width=${BASH_REMATCH[1]} height=${BASH_REMATCH[2]}
}

# scenes_recipe NAME COUNT FILE [EXTRA]: a procedural-scenes workflow of COUNT images at
# $width x $height (cans and boxes), with EXTRA (more steps, YAML) appended.
scenes_recipe() {
  cat > "$3" <<YAML
version: 1
name: $1
steps:
  scenes:
    uses: procedural/scenes
    seeds: 0..$(($2 - 1))
    size: [$width, $height]
    objects:
      can: { shape: cylinder, colors: [red, blue, silver], size: [0.12, 0.3], count: [1, 5] }
      box: { shape: box, colors: [cardboard], size: [0.15, 0.35], count: [0, 3] }
${4:-}
YAML
}
