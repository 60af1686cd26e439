#!/usr/bin/env bash
# Configures (once) and builds classrelay into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true >/dev/null
fi
ninja -C build
# The dashboard's chart library (uPlot from npm) into client/web/vendor/, when npm is there.
if command -v npm >/dev/null; then scripts/web-vendor.sh; fi
