#!/usr/bin/env bash
# Installs the operator dashboard's chart library (uPlot, pinned in client/web/"$PWD/ops/package-lock.json")
# with `npm ci` when it is missing or another version, and copies its dist files to
# client/web/vendor/uplot/, where the relay serves them as /web/vendor/uplot/... (not committed).
# Usage: scripts/web-vendor.sh        (needs node and npm: scripts/deps.sh --test installs them)
set -euo pipefail
cd "$(dirname "$0")/../client/web"
want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/uplot"].version)' "$PWD/ops/package-lock.json")
have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("none") }' \
    "$PWD/ops/node_modules/uplot/package.json")
if [ "$want" != "$have" ]; then
    echo "web-vendor: installing uplot $want (npm ci)"
    (cd ops && flock package-lock.json npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
mkdir -p vendor/uplot
for f in uPlot.iife.min.js uPlot.min.css; do
    cmp -s "ops/node_modules/uplot/dist/$f" "vendor/uplot/$f" || cp "ops/node_modules/uplot/dist/$f" "vendor/uplot/$f"
done
cp ops/node_modules/uplot/LICENSE vendor/uplot/LICENSE 2>/dev/null || true
