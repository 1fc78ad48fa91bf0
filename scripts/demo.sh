#!/usr/bin/env bash
# Installs, builds and runs the main job: validate and summarise examples/platform.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh release
./build/bursar version
