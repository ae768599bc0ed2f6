#!/usr/bin/env bash
# The run command: installs what is missing, builds, and runs mugai on its embedded defaults.
# Any arguments are passed to the mugai executable (try: scripts/run.sh --help).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/bootstrap.sh"
"$here/scripts/build.sh" >&2
exec "${MUGAI_BUILD_DIR:-$here/build}/mugai" "$@"
