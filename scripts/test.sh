#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit (cmocka), fuzz corpus replay, and the
# integration tests that start the real relay and clients (inside a private network namespace, so
# they need root or unprivileged user namespaces). Logs of integration runs go to tests/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
mkdir -p tests/out
export CR_TEST_OUT="$PWD/tests/out"
meson test -C build --print-errorlogs "$@"
