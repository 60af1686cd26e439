#!/usr/bin/env bash
# Installs what classrelay needs to build, run and test on Debian 12 (only what is missing).
# Usage: scripts/deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail

pkgs=(
  build-essential meson ninja-build pkg-config
  libssl-dev libsrtp2-dev libwebsockets-dev libjansson-dev
  libglib2.0-dev libsoup-3.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice
  curl iproute2
)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(libcmocka-dev util-linux chromium prometheus)
  # Ingest and recording tests: an RTSP server standing in for a studio host, gst-discoverer-1.0.
  pkgs+=(libgstrtspserver-1.0-dev gstreamer1.0-plugins-base-apps)
  # The browser tests need node and npm. A machine may already have them from another source
  # (whose nodejs package conflicts with Debian's npm), so install Debian's only when missing.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    pkgs+=(nodejs npm)
  fi
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
