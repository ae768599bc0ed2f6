#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test suite with ctest.
# This is what .ci/run calls and what README.md tells you to run.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/bootstrap.sh" --with-test-tools
"$here/scripts/build.sh"
build="${MUGAI_BUILD_DIR:-$here/build}"
cd "$build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
