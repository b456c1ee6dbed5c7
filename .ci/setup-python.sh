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

mkdir -p "$root/.build"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
"$venv/bin/python" -c "$check"
echo "setup-python: installed ${packages[*]} into $venv"
