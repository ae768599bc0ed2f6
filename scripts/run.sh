#!/usr/bin/env bash
# The run command: installs what is missing, builds, and runs mugai on its embedded defaults.
# Without arguments it runs the SMTP relay (`mugai serve`: 127.0.0.1:10025 -> 127.0.0.1:10026);
# any arguments are passed to the mugai executable instead (try: scripts/run.sh --help).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/bootstrap.sh"
"$here/scripts/build.sh" >&2
if [ $# -eq 0 ]; then set -- serve; fi
exec "${MUGAI_BUILD_DIR:-$here/build}/mugai" "$@"
