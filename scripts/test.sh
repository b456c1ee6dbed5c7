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
# The Slurm executor's tests need a real cluster: a single-node one, started here (as
# root) and stopped when the tests end. SYNTHSET_REQUIRE_SLURM makes a cluster that
# cannot start fail those tests instead of skipping them.
as_root=""
[ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && as_root="sudo -n"; }
if [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; then
  $as_root bash scripts/slurm-test-cluster.sh start
  trap '$as_root bash scripts/slurm-test-cluster.sh stop' EXIT
  export SYNTHSET_REQUIRE_SLURM=1
else
  echo "test.sh: neither root nor sudo: no Slurm test cluster, so the Slurm executor's tests are skipped (in CI they fail)"
fi
swift test --skip-build
# The browser tests keep their screenshot of the demo's report here (a CI artifact).
ls -l .build/report-artifacts/ 2>/dev/null || true
