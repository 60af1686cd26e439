#!/bin/bash
# Integration test: the teacher reconnects mid-lesson, refusals, and a relay that goes away.
#
#   tests/integration/e2e_reconnect.sh BUILD_DIR
#
# In a private network namespace (veth 10.99.0.1/10.99.0.2, as e2e_class.sh):
#   1. a classroom asking for a class that is not live is refused: exit 1, message with code 4042;
#   2. teacher + two classrooms; a classroom decodes within 1 s of connecting (the relay asks
#      the publisher for a keyframe on join);
#   3. the teacher is killed (SIGKILL) and restarted: both classrooms keep their sessions and
#      decode the new teacher's pictures (the relay continues their sequence numbers across the
#      new publisher's SSRCs), with no exit and no reconnect;
#   4. the relay is killed: each client notices and exits non-zero with a clear message.
# Prints figures and "N passed, M failed"; exits 1 on failure.
set -u

if [ -z "${CR_E2E_INNER:-}" ]; then
    [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    BUILD=$(cd "$1" && pwd) || exit 2
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (unshare -n needs root)"
        [ -n "${CI:-}" ] && exit 1
        exit 77
    fi
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-e2e.XXXXXX")}/reconnect
    mkdir -p "$OUT"
    export CR_E2E_INNER=1 CR_E2E_BUILD="$BUILD" CR_E2E_OUT="$OUT"
    exec unshare -n bash "$0" "$@"
fi

BUILD=$CR_E2E_BUILD
OUT=$CR_E2E_OUT
CLIENT=$BUILD/client/classrelay-client
BASE=http://10.99.0.1:8080
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT

ip link add v0 type veth peer name v1 && ip addr add 10.99.0.1/24 dev v0 &&
    ip addr add 10.99.0.2/24 dev v1 && ip link set lo up && ip link set v0 up &&
    ip link set v1 up && ip route add default via 10.99.0.1 || { echo "FAIL: veth"; exit 1; }
printf '[relay]\nhttp_listen = 10.99.0.1:8080\nmedia_ip = 10.99.0.1\n[auth]\nsecret = e2e-reconnect-secret-e2e-reconnect-secret\n' \
    >"$OUT/relay.conf"
token() { "$BUILD/relay/classrelay" token --config "$OUT/relay.conf" --class lesson "$@"; }
TEACHER_TOKEN=$(token --role teacher --id teacher)
CLASSROOM_TOKEN=$(token --role classroom --classroom room)

PASS=0
FAIL=0
check() {
    if [ "$2" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1"; else FAIL=$((FAIL + 1)); echo "FAIL  $1"; fi
}
yes_if() { if eval "$1"; then echo 1; else echo 0; fi; }
wait_line() { # FILE PATTERN TIMEOUT_TENTHS
    for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
frames() { grep '^stats' "$1" | tail -1 | sed -n 's/.*frames_decoded=\([0-9]*\).*/\1/p'; }

"$BUILD/relay/classrelay" --config "$OUT/relay.conf" >"$OUT/relay.log" 2>&1 &
RELAY=$!
PIDS+=("$RELAY")
for _ in $(seq 1 50); do curl -s -o /dev/null "$BASE/" && break; sleep 0.2; done

# 1. Refused: the class is not live.
"$CLIENT" attend --headless --token "$CLASSROOM_TOKEN" "$BASE/whep/lesson" >"$OUT/refused.log" 2>"$OUT/refused.err"
rc=$?
check "refused attend exits 1 (rc=$rc): $(head -1 "$OUT/refused.err")" \
    "$(yes_if "[ $rc = 1 ] && grep -q 'code 4042' '$OUT/refused.err'")"

# 2. Teacher and two classrooms.
"$CLIENT" teach --test --width 640 --height 360 --token "$TEACHER_TOKEN" "$BASE/whip/lesson" >"$OUT/teach1.log" 2>&1 &
T1=$!
PIDS+=("$T1")
wait_line "$OUT/teach1.log" '^connected' 150
for i in 1 2; do
    "$CLIENT" attend --headless --duration 40 --token "$CLASSROOM_TOKEN" "$BASE/whep/lesson" >"$OUT/attend$i.log" 2>"$OUT/attend$i.err" &
    eval "A$i=$!"
    PIDS+=("$!")
done
# Time to first frame: from "connected unix=T" to the first "video WxH unix=T" (printed when the
# first picture is decoded).
ttff=""
for _ in $(seq 1 150); do
    ttff=$(awk '/^connected unix=/ { split($2, a, "="); c = a[2] }
                /^video / && c != "" { split($3, b, "="); printf "%.3f", b[2] - c; exit }' "$OUT/attend1.log")
    [ -n "$ttff" ] && break
    sleep 0.1
done
check "a classroom decodes its first picture within 1 s of connecting (${ttff:-never} s)" \
    "$(yes_if "[ -n '$ttff' ] && awk 'BEGIN { exit !($ttff <= 1.0) }'")"

# 3. The teacher dies and comes back.
sleep 4
before1=$(frames "$OUT/attend1.log")
kill -9 "$T1"
wait "$T1" 2>/dev/null
sleep 1
"$CLIENT" teach --test --width 640 --height 360 --token "$TEACHER_TOKEN" "$BASE/whip/lesson" >"$OUT/teach2.log" 2>&1 &
T2=$!
PIDS+=("$T2")
wait_line "$OUT/teach2.log" '^connected' 150
sleep 5
after1=$(frames "$OUT/attend1.log")
after2=$(frames "$OUT/attend2.log")
echo "classroom 1: frames_decoded ${before1:-0} before the teacher left, ${after1:-0} five seconds after it came back"
check "classroom 1 decodes the new teacher (+$(( ${after1:-0} - ${before1:-0} )) frames)" \
    "$(yes_if "[ $(( ${after1:-0} - ${before1:-0} )) -ge 90 ]")"
check "classrooms kept their sessions (no reconnect, still running)" \
    "$(yes_if "kill -0 $A1 2>/dev/null && kill -0 $A2 2>/dev/null && ! grep -q reconnect '$OUT/attend1.err'")"
check "relay log shows the old publisher replaced" "$(yes_if "grep -q 'closed (requested)' '$OUT/relay.log'")"

# 4. The relay goes away: clients notice and exit non-zero.
kill -9 "$RELAY"
t0=$(date +%s)
wait "$A1"; rc1=$?
wait "$A2"; rc2=$?
t1=$(date +%s)
echo "classrooms exited $((t1 - t0)) s after the relay died: $(tail -1 "$OUT/attend1.err")"
check "classrooms exit non-zero when the relay dies (rc=$rc1,$rc2)" "$(yes_if "[ $rc1 != 0 ] && [ $rc2 != 0 ]")"
check "with a clear message" "$(yes_if "grep -q 'connection lost' '$OUT/attend1.err'")"
kill -INT "$T2" 2>/dev/null
wait 2>/dev/null

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
