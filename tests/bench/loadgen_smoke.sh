#!/bin/bash
# Integration test: the benchmark tools work end to end. Runs tests/bench/fanout with the real relay,
# the synthetic publisher (a small 640x360 stream encoded once into the build directory) and 3 load
# generator subscribers for 3 s, then checks from its figures that all 3 connected, received packets,
# lost none, decrypted every packet they received without an authentication failure or a malformed
# payload, and read latency stamps. No timing thresholds: this proves the tools, not the relay's speed.
#
#   tests/bench/loadgen_smoke.sh BUILD_DIR
#
# Exits 0, 1 on a failed check, 77 (skip) when the relay or GStreamer is missing.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-loadgen-smoke.XXXXXX")}
mkdir -p "$OUT"

"$HERE/fanout" --build "$BUILD" --cache "$BUILD/tests/bench/cache" --out "$OUT" --no-limit \
    --subscribers 3 --seconds 3 --warmup 1 --decrypt-every 1 --width 640 --height 360 --kbps 800 \
    >"$OUT/fanout.out" 2>"$OUT/fanout.err"
rc=$?
if [ $rc = 77 ]; then
    echo "SKIP: $(tail -1 "$OUT/fanout.err")"
    exit 77
fi
LINE=$(tail -1 "$OUT/fanout.out")
echo "$LINE"
if [ $rc != 0 ] || [ -z "$LINE" ]; then
    echo "FAIL: fanout exited $rc (logs in $OUT)"
    tail -20 "$OUT/fanout.err"
    exit 1
fi
kv() { echo "$LINE" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
fail=0
check() { # check NAME CONDITION
    if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1 ($2)"; fail=1; fi
}
check "3 subscribers connected" '[ "$(kv connected)" = 3 ] && [ "$(kv failed)" = 0 ]'
check "every subscriber received packets" '[ "$(kv packets)" -gt 0 ] && [ "$(kv silent)" = 0 ]'
check "no loss" '[ "$(kv lost)" = 0 ] && [ "$(kv gaps)" = 0 ]'
check "every packet decrypted" '[ "$(kv decrypted)" = "$(kv packets)" ] && [ "$(kv auth_failures)" = 0 ]'
check "payloads well formed" '[ "$(kv bad_payload)" = 0 ]'
check "latency stamps read" '[ "$(kv latency_samples)" -gt 0 ]'
check "relay counters read" '[ -n "$(kv forwarded_pps)" ] && [ -n "$(kv relay_rss_kb)" ]'
[ $fail = 0 ] || echo "logs in $OUT"
exit $fail
