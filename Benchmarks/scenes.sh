#!/usr/bin/env bash
# Renderer throughput benchmark (release build). Optional args: [images] [repeats].
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift run -c release scenes-bench "$@"
