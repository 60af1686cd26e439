#!/bin/bash
# Integration test: two media workers, two classes live at once (issue 6). The relay runs with
# `workers = 2`; a synthetic publisher (tests/bench/cr_synthpub, a small 640x360 H.264 + Opus stream
# encoded once into the build directory) teaches each of the classes "math" and "music", and a load
# generator (tests/bench/cr_loadgen) opens 3 WHEP subscribers to each. A class lives on the worker its
# id hashes to (cr_relay_class.c); these two ids hash to different workers of two. Checks:
#   - GET /api/status puts the two classes on different workers, each worker has its class's 4 peers,
#     and each worker forwarded packets (so neither class was carried by the other's worker);
#   - every subscriber of both classes connected, received packets, lost none after NACKs, decrypted
#     every packet it received (SRTP authenticated, H.264/Opus payloads well formed) and read stamps.
# No timing thresholds; about 15 s.
#
#   tests/integration/two_workers.sh BUILD_DIR
#
# Exits 0, 1 on a failed check, 77 (skip) when a tool or GStreamer is missing or there is no network
# namespace.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -z "${CR_TW_INNER:-}" ]; then
    BUILD=$(cd "$1" && pwd) || exit 2
    for bin in relay/classrelay tests/bench/cr_synthpub tests/bench/cr_loadgen; do
        [ -x "$BUILD/$bin" ] || { echo "SKIP: $BUILD/$bin is not built"; exit 77; }
    done
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (unshare -n needs root)"
        [ -n "${CI:-}" ] && exit 1
        exit 77
    fi
    # The stream is encoded outside the namespace, once (GStreamer; exit 77 when it is missing).
    MEDIA=$("$ROOT/tests/bench/gen_media.sh" "$BUILD/tests/bench/cache" --width 640 --height 360 --kbps 800)
    rc=$?
    [ $rc = 0 ] || { [ $rc = 77 ] && echo "SKIP: cannot encode the test stream"; exit $rc; }
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-two-workers.XXXXXX")}
    [ -n "${CR_TEST_OUT:-}" ] && { OUT=$OUT/two_workers; rm -rf "$OUT"; }
    mkdir -p "$OUT"
    export CR_TW_INNER=1 CR_TW_BUILD="$BUILD" CR_TW_OUT="$OUT" CR_TW_MEDIA="$MEDIA"
    exec unshare -n bash "$0" "$@"
fi
BUILD=$CR_TW_BUILD OUT=$CR_TW_OUT
VIDEO=$(echo "$CR_TW_MEDIA" | sed -n 1p) AUDIO=$(echo "$CR_TW_MEDIA" | sed -n 2p)
BASE=http://127.0.0.1:18090
CLASSES="math music"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT
ip link set lo up || { echo "FAIL: cannot bring up lo"; exit 1; }
echo "logs in $OUT"

PASS=0 FAIL=0
# shellcheck source=tests/integration/workers_lib.sh
. "$HERE/workers_lib.sh" # check, yes_if, wait_line, token, relay_start, status_get
kv() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

relay_start "$(cat <<CONF
[relay]
http_listen = 127.0.0.1:18090
media_ip = 127.0.0.1
media_port = 20100
workers = 2
log_level = info
[auth]
secret = $(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
CONF
)"
STATUS_TOKEN=$(token --role admin --class '*') || { echo "FAIL: cannot mint tokens"; exit 1; }

for c in $CLASSES; do
    "$BUILD/tests/bench/cr_synthpub" --url "$BASE/whip/$c" --video "$VIDEO" --audio "$AUDIO" \
        --token "$(token --role teacher --class "$c")" >"$OUT/synthpub-$c.out" 2>"$OUT/synthpub-$c.err" &
    PIDS+=($!)
done
for c in $CLASSES; do
    ok=0
    wait_line "$OUT/synthpub-$c.out" '^connected' 100 && ok=1
    check "the teacher of '$c' publishes" $ok
done
[ "$FAIL" = 0 ] || { tail -5 "$OUT"/synthpub-*.err; echo "$PASS passed, $FAIL failed"; exit 1; }

LG=()
for c in $CLASSES; do
    for i in 1 2 3; do token --role classroom --class "$c" --classroom "$c-room-$i"; done >"$OUT/tokens-$c.txt"
    "$BUILD/tests/bench/cr_loadgen" --url "$BASE/whep/$c" --subscribers 3 --seconds 4 --warmup 1 \
        --decrypt-every 1 --token-file "$OUT/tokens-$c.txt" \
        >"$OUT/loadgen-$c.out" 2>"$OUT/loadgen-$c.err" &
    LG+=($!)
    PIDS+=($!)
done
# While both classes are live (the generators keep their sessions open until they exit): where
# did each class land? Read once all 8 peers are on the workers.
for _ in $(seq 1 100); do
    [ "$(status_get "sum(w['peers'] for w in d['workers'])")" = 8 ] && break
    sleep 0.2
done
W_MATH=$(status_get "[c['worker'] for c in d['classes'] if c['id']=='math'][0]")
W_MUSIC=$(status_get "[c['worker'] for c in d['classes'] if c['id']=='music'][0]")
echo "math on worker ${W_MATH:-?}, music on worker ${W_MUSIC:-?}"
check "the two classes are on different workers" "$(yes_if '[ -n "$W_MATH" ] && [ -n "$W_MUSIC" ] && [ "$W_MATH" != "$W_MUSIC" ]')"
PEERS=$(status_get "' '.join(str(w['peers']) for w in d['workers'])")
check "each worker holds its class's 4 peers (peers: $PEERS)" "$(yes_if '[ "$PEERS" = "4 4" ]')"

for i in 0 1; do wait "${LG[$i]}"; done
FWD=$(status_get "' '.join(str(w['forwarded']) for w in d['workers'])")
check "both workers forwarded media (forwarded: $FWD)" \
    "$(status_get "int(len(d['workers']) == 2 and all(w['forwarded'] > 0 for w in d['workers']))")"

for c in $CLASSES; do
    LINE=$(grep '^subscribers=' "$OUT/loadgen-$c.out" | tail -1)
    [ -n "$LINE" ] || { check "'$c': the load generator reported" 0; tail -5 "$OUT/loadgen-$c.err"; continue; }
    echo "$c: $LINE" | cut -c1-300
    check "'$c': 3 subscribers connected" "$(yes_if '[ "$(kv "$LINE" connected)" = 3 ] && [ "$(kv "$LINE" failed)" = 0 ]')"
    check "'$c': every subscriber received packets" "$(yes_if '[ "$(kv "$LINE" packets)" -gt 0 ] && [ "$(kv "$LINE" silent)" = 0 ]')"
    check "'$c': nothing lost" "$(yes_if '[ "$(kv "$LINE" lost)" = 0 ]')"
    check "'$c': every packet decrypted, payloads well formed" \
        "$(yes_if '[ "$(kv "$LINE" decrypted)" = "$(kv "$LINE" packets)" ] && [ "$(kv "$LINE" auth_failures)" = 0 ] && [ "$(kv "$LINE" bad_payload)" = 0 ]')"
    check "'$c': latency stamps read" "$(yes_if '[ "$(kv "$LINE" latency_samples)" -gt 0 ]')"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
