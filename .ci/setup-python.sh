#!/usr/bin/env bash
# Creates .build/venv with the Python packages the dataset consumer tests use
# (pycocotools, globox, and PyYAML to read data.yaml the way Ultralytics does),
# check-jsonschema, which CI runs on every workflows/*.yaml, and Ultralytics (with torch,
# several GB), which the train demo runs for real (ultralytics/train).
# Idempotent: does nothing when they are already installed.
# Usage: bash .ci/setup-python.sh   (from anywhere; paths are relative to the package root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build/venv"
python="${PYTHON:-python3}"
# torch and torchvision pinned as a pair: torchvision's operators (NMS, which Ultralytics'
# validator imports) load only with the torch build they were compiled against.
packages=(pycocotools globox pyyaml check-jsonschema "torch==2.15.0" "torchvision==0.29.2" "ultralytics==8.4.190")
check='import pycocotools.coco, globox, yaml, check_jsonschema, torchvision.ops, importlib.metadata as m; assert m.version("ultralytics") == "8.4.190"'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    echo "setup-python: $venv already has ${packages[*]}"
    exit 0
fi

# torch's CUDA wheels from PyPI (the only torch index this machine reaches) take about
# 6 GB once installed, 3 GB more while the wheels download; say so plainly, before
# anything is written, rather than failing halfway with ENOSPC. A venv that already has
# torch needs only what a changed pin adds.
need_gb=9
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    need_gb=1
fi
free_gb=$(df -Pk "$root" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$free_gb" -lt "$need_gb" ]; then
    echo "setup-python: error: $free_gb GB free under $root, $need_gb GB needed for ${packages[*]}; free some disk (pip's cache: python3 -m pip cache purge) and run again" >&2
    exit 1
fi
mkdir -p "$root/.build"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# No cache (a fresh machine gains nothing from one, and it would keep a second copy of
# the 3 GB of wheels); retries, and resumed downloads where this pip has them (25.1 on),
# because a 200 MB wheel over a flaky link is common. (The help is read whole first: with
# pipefail, grep -q closing the pipe early could fail the test.)
flaky=(--retries 10 --timeout 60)
if grep -q -- --resume-retries <<< "$("$venv/bin/python" -m pip install --help)"; then
    flaky+=(--resume-retries 10)
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
    "${flaky[@]}" "${packages[@]}"
"$venv/bin/python" -c "$check"
echo "setup-python: installed ${packages[*]} into $venv"
