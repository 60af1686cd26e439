#!/usr/bin/env bash
# The main job, for a newcomer: installs what is missing, builds, starts the relay on its built-in
# default config (loopback only), a demo lesson (test pattern with a clock and a 440 Hz tone,
# published by WHIP), and one classroom that watches it by WHEP: a player window when a display is
# available, otherwise (or with --headless) printed received-frame statistics. Ctrl-C stops all.
#
# Usage: scripts/demo.sh [--headless] [--duration SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

headless=""
duration=()
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) headless="--headless" ;;
    --duration) duration=(--duration "$2"); shift ;;
    *) echo "usage: scripts/demo.sh [--headless] [--duration SECONDS]" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  headless="--headless"
fi

scripts/deps.sh
scripts/build.sh >/dev/null

pids=()
cleanup() {
  # Newest first: the teacher says goodbye (DELETE) while the relay still listens.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

url=http://127.0.0.1:8080
build/relay/classrelay &
pids+=($!)
for _ in $(seq 50); do
  curl -sf "$url/api/status" >/dev/null && break
  sleep 0.1
done
echo "demo: relay up at $url (status: $url/api/status)"
# Without a configured secret the relay made a random one for this run; `classrelay token` finds it.
token() { build/relay/classrelay token --class demo "$@"; }

build/client/classrelay-client teach --test --token "$(token --role teacher --id teacher)" "$url/whip/demo" \
  --reconnect >/dev/null &
pids+=($!)
sleep 2
echo "demo: classroom joining $url/whep/demo ${headless:+(headless: one line of figures a second)}"
build/client/classrelay-client attend $headless "${duration[@]}" --reconnect \
  --token "$(token --role classroom --classroom demo-room)" "$url/whep/demo"
