#!/bin/bash
# Integration test: a studio host's RTSP stream into a class, supervised by the relay.
#
#   tests/integration/ingest_rtsp.sh BUILD_DIR
#
# In a network namespace (veth 10.99.0.1 / 10.99.0.2): tests/tools/rtsp_testsrv serves SMPTE bars
# with a clock (H.264 640x360 at 30 fps, AAC) on rtsp://10.99.0.1:8554/live; the relay's config has
# a [source.studio1] for class "lesson", so the relay starts `classrelay-client ingest` itself. Two
# `attend --headless` classrooms watch. Then the RTSP server is killed (SIGKILL) and restarted
# 3 s later. Checks:
#   - both classrooms decode >= 95% of the frames the ingest sent, before the outage and after it;
#   - during the outage they keep decoding (the "source lost" slate, 1280x720), on the same session;
#   - the class resumes by itself within 10 s of the server's restart (printed: ingest and
#     classroom views), with no restart of the ingest worker;
#   - ending the class through the admin API stops the ingest worker, which stays stopped.
# Exit 77 (skip) without namespaces, the relay, the client or rtsp_testsrv.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/workers_lib.sh"
if [ -z "${CR_WK_INNER:-}" ] && [ $# -ge 1 ] && [ ! -x "$1/tests/tools/rtsp_testsrv" ]; then
    echo "SKIP: rtsp_testsrv is not built (libgstrtspserver-1.0-dev missing)"
    exit 77
fi
workers_enter ingest-rtsp "$@"

SRV=$BUILD/tests/tools/rtsp_testsrv
start_server() {
    "$SRV" --address $IP --port 8554 --width 640 --height 360 --fps 30 --bitrate 800 >>"$OUT/rtsp.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    wait_line "$OUT/rtsp.log" "^ready" 50
}
start_server || { echo "FAIL: rtsp_testsrv did not start"; exit 1; }

relay_start "[relay]
http_listen = $IP:8080
media_ip = $IP
[auth]
secret = ingest-rtsp-secret-ingest-rtsp-secret-0123
admin_remote = true
[supervise]
log_dir = $OUT
[class.lesson]
[source.studio1]
class = lesson
url = rtsp://$IP:8554/live"
ING=$OUT/ingest-studio1.log

wait_line "$ING" '^connected' 200
check "the relay started the ingest worker, which published to the class" "$(yes_if "grep -q '^connected' '$ING'")"
wait_line "$ING" '^source up' 100
check "the ingest passes the studio's H.264 through: $(grep -m1 '^source up' "$ING" | cut -d' ' -f4-)" \
    "$(yes_if "grep -q '^source up.*codec=h264.*pass=1' '$ING'")"

DUR=34
for i in 1 2; do
    "$CLIENT" attend --headless --duration $DUR --token "$(token --class lesson --role classroom --classroom room$i)" \
        "$BASE/whep/lesson" >"$OUT/attend$i.log" 2>"$OUT/attend$i.err" &
    eval "ATT$i=$!"
    PIDS+=("$!")
done
sleep 12
KILL_T=$(now)
kill -9 "$SERVER"
wait "$SERVER" 2>/dev/null
sleep 3
RESTART_T=$(now)
start_server || check "rtsp_testsrv restarted" 0
wait "$ATT1"; RC1=$?
wait "$ATT2"; RC2=$?
RESTARTS=$(status_get "[w['restarts'] for w in d['supervised']['workers'] if w['name']=='ingest-studio1'][0]")
# Ending the class (a timetable class: it stays, ended) stops its source for good.
ingest_state() { status_get "[w['state'] for w in d['supervised']['workers'] if w['name']=='ingest-studio1'][0]"; }
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H "Authorization: Bearer $(token --class '*' --role admin)" \
    "$BASE/api/classes/lesson/end")
for _ in $(seq 1 50); do [ "$(ingest_state)" = stopped ] && break; sleep 0.2; done
sleep 3
check "ending the class (HTTP $code) stops the ingest worker, which stays stopped ($(ingest_state))" \
    "$(yes_if "[ '$(ingest_state)' = stopped ]")"
relay_stop

series "$ING" frames_sent >"$OUT/sent.series"
LOST_T=$(awk -v k="$KILL_T" '/^source lost/ { split($3, a, "="); if (a[2] >= k) { print a[2]; exit } }' "$ING")
UP_T=$(awk -v r="$RESTART_T" '/^source up/ { split($3, a, "="); if (a[2] >= r) { print a[2]; exit } }' "$ING")
check "the ingest saw the source go ($(awk -v a="$LOST_T" -v k="$KILL_T" 'BEGIN { printf "%.1f", a - k }') s after the kill)" \
    "$(yes_if "[ -n '$LOST_T' ]")"
resume=$(awk -v a="$UP_T" -v r="$RESTART_T" 'BEGIN { if (a == "") print "none"; else printf "%.1f", a - r }')
check "ingest: source back $resume s after the RTSP server restarted (<= 10 s)" \
    "$(yes_if "[ -n '$UP_T' ] && awk -v a='$UP_T' -v r='$RESTART_T' 'BEGIN { exit !(a - r <= 10) }'")"
check "the ingest worker was not restarted (it retried by itself): restarts=$RESTARTS" "$(yes_if "[ '$RESTARTS' = 0 ]")"

for i in 1 2; do
    A=$OUT/attend$i.log
    eval "rc=\$RC$i"
    check "room$i: exited 0 after --duration (rc=$rc)" "$(yes_if "[ '$rc' = 0 ]")"
    check "room$i: one session all along ($(grep -c '^connected' "$A") connected line)" \
        "$(yes_if "[ $(grep -c '^connected' "$A") = 1 ]")"
    series "$A" frames_decoded >"$OUT/recv$i.series"
    first=$(grep -m1 '^stats' "$A" | sed -n 's/.*unix=\([0-9.]*\).*/\1/p')
    before=$(ratio "$OUT/sent.series" "$OUT/recv$i.series" "$(awk -v f="$first" 'BEGIN { printf "%.3f", f + 3 }')" \
        "$(awk -v k="$KILL_T" 'BEGIN { printf "%.3f", k - 0.5 }')")
    check "room$i: before the outage decoded $(echo "$before" | cut -d' ' -f1) of $(echo "$before" | cut -d' ' -f2) frames (ratio $(echo "$before" | cut -d' ' -f3) >= 0.95)" \
        "$(yes_if "awk -v r='$(echo "$before" | cut -d' ' -f3)' 'BEGIN { exit !(r >= 0.95) }'")"
    slate=$(awk -v k="$KILL_T" '/^video 1280x720/ { split($3, a, "="); if (a[2] >= k) { print a[2]; exit } }' "$A")
    check "room$i: saw the 'source lost' slate $(awk -v s="$slate" -v k="$KILL_T" 'BEGIN { if (s != "") printf "%.1f s after the kill", s - k }')" \
        "$(yes_if "[ -n '$slate' ]")"
    back=$(awk -v r="$RESTART_T" '/^video 640x360/ { split($3, a, "="); if (a[2] >= r) { print a[2]; exit } }' "$A")
    check "room$i: the studio picture is back $(awk -v b="$back" -v r="$RESTART_T" 'BEGIN { if (b != "") printf "%.1f", b - r; else printf "never" }') s after the restart (<= 10 s)" \
        "$(yes_if "[ -n '$back' ] && awk -v b='$back' -v r='$RESTART_T' 'BEGIN { exit !(b - r <= 10) }'")"
    during=$(ratio "$OUT/recv$i.series" "$OUT/recv$i.series" "$KILL_T" "$RESTART_T" | cut -d' ' -f1)
    check "room$i: kept decoding during the outage ($during frames in $(awk -v a="$KILL_T" -v b="$RESTART_T" 'BEGIN { printf "%.1f", b - a }') s)" \
        "$(yes_if "[ '${during:-0}' -gt 10 ]")"
    last=$(grep '^stats' "$A" | tail -1 | sed -n 's/.*unix=\([0-9.]*\).*/\1/p')
    if [ -n "$back" ]; then
        after=$(ratio "$OUT/sent.series" "$OUT/recv$i.series" "$(awk -v b="$back" 'BEGIN { printf "%.3f", b + 2 }')" "$last")
        check "room$i: after the outage decoded $(echo "$after" | cut -d' ' -f1) of $(echo "$after" | cut -d' ' -f2) frames (ratio $(echo "$after" | cut -d' ' -f3) >= 0.95)" \
            "$(yes_if "awk -v r='$(echo "$after" | cut -d' ' -f3)' 'BEGIN { exit !(r >= 0.95) }'")"
    fi
done
finish
