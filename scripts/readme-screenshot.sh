#!/usr/bin/env bash
# Makes README's picture of the QC report from the screenshot the browser tests take
# (.build/report-artifacts/demo-report.png, the procedural demo's report in headless
# Chromium): a 256-colour palette PNG, a fraction of the size.
#   swift test --filter ReportTests && bash scripts/readme-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source=.build/report-artifacts/demo-report.png
[ -f "$source" ] || { echo "no $source: run the tests first (bash scripts/test.sh)" >&2; exit 2; }
ffmpeg -loglevel error -y -i "$source" \
  -vf "scale=960:-1:flags=lanczos,split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse=dither=none" \
  docs/report.png
ls -l docs/report.png
