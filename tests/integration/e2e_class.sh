#!/bin/bash
# Integration test of issue 2: one teacher, three classroom attendees, one relay.
#
#   tests/integration/e2e_class.sh BUILD_DIR
#
# Runs inside a fresh network namespace (unshare -n) with a veth pair v0 10.99.0.1 / v1
# 10.99.0.2, so ICE has real non-loopback candidates. Starts BUILD_DIR/relay/classrelay with
# http_listen = media_ip = 10.99.0.1, one `classrelay-client teach --test` and three
# `classrelay-client attend --headless --duration 14`; kills attendee 3 with SIGKILL after
# ~6 s and then checks, from the clients' machine-readable lines, that:
#   - attendees 1 and 2 decoded >= 95% of the frames the teacher sent while they were
#     connected (window: from 2 s after their first stats line following "connected" to their
#     last stats line; the teacher's frames_sent is interpolated at both ends),
#   - their decoded audio samples kept rising (and at >= 90% of 48 kHz),
#   - killing attendee 3 did not disturb them: no per-second fps after the kill below 85% of
#     their mean fps before it,
#   - both exited 0 after --duration, and the relay is still running,
#   - attendee 1 (classroom room1, on a configured link) sends transport-cc feedback that reaches
#     the scheduler (GET /api/status at the kill: >= 20 feedback packets, <= 1 % reported lost).
# Prints the figures and "N passed, M failed"; exits 1 on any failure, 77 (skip) when the
# relay is not built or namespaces are unavailable. Logs go to $CR_TEST_OUT or a temp dir.
set -u

if [ -z "${CR_E2E_INNER:-}" ]; then
    [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    BUILD=$(cd "$1" && pwd) || exit 2
    if [ ! -x "$BUILD/relay/classrelay" ]; then
        echo "SKIP: $BUILD/relay/classrelay is not built"
        exit 77
    fi
    if [ ! -x "$BUILD/client/classrelay-client" ]; then
        echo "SKIP: $BUILD/client/classrelay-client is not built"
        exit 77
    fi
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (unshare -n needs root/CAP_SYS_ADMIN)"
        [ -n "${CI:-}" ] && exit 1   # in CI the test must run, not skip
        exit 77
    fi
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-e2e-class.XXXXXX")}
    mkdir -p "$OUT"
    export CR_E2E_INNER=1 CR_E2E_BUILD="$BUILD" CR_E2E_OUT="$OUT"
    exec unshare -n bash "$0" "$@"
fi

BUILD=$CR_E2E_BUILD
OUT=$CR_E2E_OUT
CLIENT=$BUILD/client/classrelay-client
IP=10.99.0.1
PORT=8080
BASE=http://$IP:$PORT
DURATION=14   # attendee --duration
KILL_AFTER=6  # seconds after the attendees start
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT

ip link add v0 type veth peer name v1 &&
    ip addr add 10.99.0.1/24 dev v0 &&
    ip addr add 10.99.0.2/24 dev v1 &&
    ip link set lo up && ip link set v0 up && ip link set v1 up &&
    ip route add default via 10.99.0.1 || { echo "FAIL: cannot set up the veth pair"; exit 1; }

now() { date +%s.%N; }

cat >"$OUT/relay.conf" <<CONF
[relay]
http_listen = $IP:$PORT
media_ip = $IP
[auth]
secret = e2e-class-secret-e2e-class-secret-e2e
# room1 is on a configured link: the scheduler places it and reads its transport-cc feedback.
[school.village]
[classroom.room1]
school = village
CONF
token() { "$BUILD/relay/classrelay" token --config "$OUT/relay.conf" --class demo "$@"; }

echo "logs in $OUT"
"$BUILD/relay/classrelay" --config "$OUT/relay.conf" >"$OUT/relay.log" 2>&1 &
RELAY=$!
PIDS+=("$RELAY")

# The relay is up when anything answers HTTP on its port (even 404).
http_up() {
    if command -v curl >/dev/null; then
        [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$BASE/" 2>/dev/null)" != "000" ]
    else
        (exec 3<>"/dev/tcp/$IP/$PORT") 2>/dev/null
    fi
}
up=0
for _ in $(seq 1 50); do
    if http_up; then up=1; break; fi
    kill -0 "$RELAY" 2>/dev/null || break
    sleep 0.2
done
if [ $up -ne 1 ]; then
    echo "FAIL: relay did not answer HTTP on $BASE within 10 s"
    tail -20 "$OUT/relay.log"
    echo "0 passed, 1 failed"
    exit 1
fi

# 640x360 keeps three decoders and an encoder well inside a 2-core machine's budget. (The log of an
# earlier run goes first: the background job truncates it only when it starts, and the wait below
# must not find that run's "connected".)
rm -f "$OUT"/teach.log "$OUT"/attend?.log
"$CLIENT" teach --test --width 640 --height 360 --token "$(token --role teacher --id teacher)" "$BASE/whip/demo" >"$OUT/teach.log" 2>"$OUT/teach.err" &
TEACH=$!
PIDS+=("$TEACH")
for _ in $(seq 1 150); do
    grep -q '^connected' "$OUT/teach.log" && break
    kill -0 "$TEACH" 2>/dev/null || break
    sleep 0.1
done

for i in 1 2 3; do
    "$CLIENT" attend --headless --duration $DURATION --token "$(token --role classroom --classroom room$i)" \
        "$BASE/whep/demo" \
        >"$OUT/attend$i.log" 2>"$OUT/attend$i.err" &
    eval "ATT$i=$!"
    PIDS+=("$!")
done
sleep $KILL_AFTER
curl -s -m 2 "$BASE/api/status" >"$OUT/status.json" 2>/dev/null
KILL_UNIX=$(now)
{ # bash would report the SIGKILLed job on stderr: that is the point, not news
    kill -9 "$ATT3"
    wait "$ATT3"
    wait "$ATT1"; RC1=$?
    wait "$ATT2"; RC2=$?
} 2>/dev/null
relay_alive=0
kill -0 "$RELAY" 2>/dev/null && relay_alive=1
kill -INT "$TEACH" 2>/dev/null
wait "$TEACH"; RCT=$?
kill -TERM "$RELAY" 2>/dev/null
for _ in $(seq 1 25); do kill -0 "$RELAY" 2>/dev/null || break; sleep 0.2; done
PIDS=()
kill -9 "$RELAY" 2>/dev/null
wait 2>/dev/null

PASS=0
FAIL=0
check() { # check NAME CONDITION-TEXT 0|1
    if [ "$3" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1: $2"
    else FAIL=$((FAIL + 1)); echo "FAIL  $1: $2"; fi
}

grep -q '^connected' "$OUT/teach.log" && t_ok=1 || t_ok=0
check teacher "connected to the relay" $t_ok
check teacher "exited cleanly on SIGINT (rc=$RCT)" "$([ "$RCT" = 0 ] && echo 1 || echo 0)"
check relay "still running after the attendee was killed" $relay_alive
# webrtcbin (the attend client) answers the relay's transport-wide sequence numbers with feedback.
tw=$(python3 -c 'import json, sys
s = json.load(open(sys.argv[1])).get("scheduler") or {}
t = [x.get("twcc") for x in s.get("subscribers", []) if x.get("classroom") == "room1"]
t = t[0] if t and t[0] else {}
print(t.get("feedback", 0), t.get("reported", 0), t.get("lost", 0))' "$OUT/status.json" 2>/dev/null || echo "0 0 0")
read -r tw_fb tw_rep tw_lost <<<"$tw"
echo "attendee1: twcc_feedback=$tw_fb twcc_reported=$tw_rep twcc_lost=$tw_lost"
check attendee1 "sends transport-cc feedback ($tw_fb packets covering $tw_rep, $tw_lost lost)" \
    "$([ "${tw_fb:-0}" -ge 20 ] && [ "${tw_rep:-0}" -ge 500 ] && [ $((${tw_lost:-0} * 100)) -le "${tw_rep:-0}" ] && echo 1 || echo 0)"
grep -q '^connected' "$OUT/attend3.log" && a3=1 || a3=0
check attendee3 "connected before it was killed" $a3

# The teacher's frames_sent series "unix frames" for interpolation.
# The summary line carries the final count, so attendees' last lines are covered too.
grep -E '^(stats|summary) ' "$OUT/teach.log" | sed -n 's/.*frames_sent=\([0-9]*\).*unix=\([0-9.]*\).*/\2 \1/p' \
    >"$OUT/teach.series"

# analyse FILE: prints "key=value ..." figures for one attendee.
analyse() {
    awk -v kill="$KILL_UNIX" -v series="$OUT/teach.series" '
    function field(name,   i, kv) {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] + 0 }
        return -1
    }
    function sent_at(u,   i) { # teacher frames_sent at unix time u, linear interpolation
        if (n_t == 0) return -1
        if (u <= tu[1]) return tf[1]
        for (i = 2; i <= n_t; i++)
            if (u <= tu[i]) return tf[i-1] + (tf[i] - tf[i-1]) * (u - tu[i-1]) / (tu[i] - tu[i-1])
        return tf[n_t]
    }
    BEGIN { while ((getline line < series) > 0) { split(line, p, " "); n_t++; tu[n_t] = p[1]; tf[n_t] = p[2] } }
    /^connected/ { connected = 1; next }
    /^stats / && connected {
        n++; u[n] = field("unix"); fr[n] = field("frames_decoded"); fps[n] = field("fps")
        au[n] = field("audio_samples"); lost[n] = field("packets_lost")
    }
    END {
        if (n < 4) { printf "stats_lines=%d\n", n; exit }
        start = u[1] + 2; a = 0
        for (i = 1; i <= n; i++) if (u[i] >= start) { a = i; break }
        b = n
        if (a == 0 || b - a < 2) { printf "stats_lines=%d\n", n; exit }
        decoded = fr[b] - fr[a]
        sent = sent_at(u[b]) - sent_at(u[a])
        rising = 1
        for (i = a + 1; i <= b; i++) if (au[i] <= au[i-1]) rising = 0
        arate = (au[b] - au[a]) / (u[b] - u[a])
        nb = 0; sb = 0; minafter = -1; nafter = 0
        for (i = a + 1; i <= b; i++) {
            if (u[i] < kill) { nb++; sb += fps[i] }
            else if (u[i] >= kill + 1) { nafter++; if (minafter < 0 || fps[i] < minafter) minafter = fps[i] }
        }
        printf "stats_lines=%d window_s=%.1f decoded=%d sent=%.0f ratio=%.3f audio_rising=%d " \
               "audio_rate=%.0f fps_before=%.1f min_fps_after=%.1f after_lines=%d packets_lost=%d\n",
               n, u[b] - u[a], decoded, sent, (sent > 0 ? decoded / sent : 0), rising, arate,
               (nb ? sb / nb : 0), minafter, nafter, lost[b]
    }' "$1"
}

get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

for i in 1 2; do
    fig=$(analyse "$OUT/attend$i.log")
    echo "attendee$i: $fig"
    eval "rc=\$RC$i"
    check "attendee$i" "exited 0 after --duration (rc=$rc)" "$([ "$rc" = 0 ] && echo 1 || echo 0)"
    ratio=$(get "$fig" ratio)
    if [ -z "$ratio" ]; then
        check "attendee$i" "produced enough stats lines while connected" 0
        continue
    fi
    check "attendee$i" "decoded $(get "$fig" decoded) of $(get "$fig" sent) frames sent (ratio $ratio >= 0.95)" \
        "$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95) ? 1 : 0 }')"
    check "attendee$i" "audio samples rising at $(get "$fig" audio_rate)/s" \
        "$(awk -v r="$(get "$fig" audio_rising)" -v a="$(get "$fig" audio_rate)" \
            'BEGIN { print (r == 1 && a >= 0.9 * 48000) ? 1 : 0 }')"
    check "attendee$i" "fps after the kill >= 85% of before ($(get "$fig" min_fps_after) vs $(get "$fig" fps_before))" \
        "$(awk -v m="$(get "$fig" min_fps_after)" -v b="$(get "$fig" fps_before)" -v n="$(get "$fig" after_lines)" \
            'BEGIN { print (n >= 3 && b > 0 && m >= 0.85 * b) ? 1 : 0 }')"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
