#!/usr/bin/env bash
# The main job: build synthset and run the procedural demo workflow (no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release --product synthset
workflow="${1:-workflows/demo.yaml}"
.build/release/synthset plan "$workflow"
.build/release/synthset run "$workflow"
.build/release/synthset status "$workflow"
