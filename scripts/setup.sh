#!/usr/bin/env bash
# Installs what building and testing synthset needs from Debian, once.
# Idempotent: packages already present are not touched, and apt-get update runs only
# when something is missing.
set -euo pipefail

packages=(libjpeg62-turbo-dev libsqlite3-dev pkg-config)
if [ "${SYNTHSET_SETUP_TESTS:-0}" = 1 ]; then
  # chromium: the QC report's browser tests (headless --dump-dom and --screenshot).
  packages+=(ffmpeg util-linux chromium)
  # The Slurm executor's tests run against a real single-node cluster
  # (scripts/slurm-test-cluster.sh); no slurm-wlm metapackage, no accounting.
  packages+=(slurmctld slurmd slurm-client munge)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
