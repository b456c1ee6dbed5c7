#!/usr/bin/env bash
# The test suite: installs what the tests need (Debian packages, a Python venv under
# .build/ for the dataset consumers), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

SYNTHSET_SETUP_TESTS=1 bash scripts/setup.sh
bash .ci/setup-python.sh
# Every example recipe must satisfy the published JSON Schema (what editors use).
.build/venv/bin/check-jsonschema --schemafile schemas/workflow.schema.json workflows/*.yaml
swift build --build-tests
swift test --skip-build
# The browser tests keep their screenshot of the demo's report here (a CI artifact).
ls -l .build/report-artifacts/ 2>/dev/null || true
