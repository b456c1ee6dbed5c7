#!/usr/bin/env bash
# Creates .build/venv with the Python packages the dataset consumer tests use
# (pycocotools, globox, and PyYAML to read data.yaml the way Ultralytics does) and
# check-jsonschema, which CI runs on every workflows/*.yaml.
# Idempotent: does nothing when they are already installed.
# Usage: bash .ci/setup-python.sh   (from anywhere; paths are relative to the package root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build/venv"
python="${PYTHON:-python3}"
packages=(pycocotools globox pyyaml check-jsonschema)

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import pycocotools.coco, globox, yaml, check_jsonschema' 2>/dev/null; then
    echo "setup-python: $venv already has ${packages[*]}"
    exit 0
fi

mkdir -p "$root/.build"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
"$venv/bin/python" -c 'import pycocotools.coco, globox, yaml, check_jsonschema'
echo "setup-python: installed ${packages[*]} into $venv"
