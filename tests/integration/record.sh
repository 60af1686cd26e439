#!/bin/bash
# Integration test: classes recorded by supervised recorders; downloads; names that cannot escape.
#
#   tests/integration/record.sh BUILD_DIR
#
# In a network namespace, with [recording] dir = OUT/rec:
#   1. class rec1 (record = true) is taught for 30 s (teach --test 640x360) and ended by the admin
#      API: its recording has H.264 and Opus (gst-discoverer-1.0) and lasts within 1 s of the class;
#      meanwhile class rec3 (not configured) is recorded from POST /api/recordings to DELETE.
#   2. class rec2: its recorder is killed with SIGKILL 10 s in; the file it leaves plays up to at
#      most a few seconds before the kill, the supervisor restarts the recorder, and the list says
#      the first recording was interrupted.
#   3. the API: list and download (whole, byte ranges, 416), tokens and roles; and recording
#      requests whose class names a path ("../..", "a/b", %2F) are refused, by the API and by
#      `classrelay-client record` itself, and nothing is written outside the directory.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/workers_lib.sh"
if [ -z "${CR_WK_INNER:-}" ] && ! command -v gst-discoverer-1.0 >/dev/null; then
    echo "SKIP: gst-discoverer-1.0 is missing (gstreamer1.0-plugins-base-apps)"
    exit 77
fi
workers_enter record "$@"
REC=$OUT/rec
mkdir -p "$REC"
touch "$OUT/.start-marker"

relay_start "[relay]
http_listen = $IP:8080
media_ip = $IP
[auth]
secret = record-test-secret-record-test-secret-0123
admin_remote = true
[supervise]
log_dir = $OUT
[recording]
dir = $REC
[class.rec1]
record = true
[class.rec2]
record = true
[class.rec3]"
ADMIN=$(token --class '*' --role admin)
OPER=$(token --class '*' --role operator)
api() { # METHOD PATH [BODY] -> prints "HTTP_CODE", body in $OUT/api.json
    curl -s -m 5 -o "$OUT/api.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $OPER" \
        -H 'Content-Type: application/json' ${3:+-d "$3"} "$BASE$2"
}
worker() { status_get "[w['$2'] for w in d['supervised']['workers'] if w['name']=='record-$1'][0]"; }
teach() { # CLASS DURATION
    "$CLIENT" teach --test --width 640 --height 360 --duration "$2" \
        --token "$(token --class "$1" --role teacher --id t-$1)" "$BASE/whip/$1" >"$OUT/teach-$1.log" 2>&1 &
    PIDS+=("$!")
}
duration_of() { gst-discoverer-1.0 "$1" 2>/dev/null | sed -n 's/^ *Duration: \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' | awk '{ printf "%.2f", $1 * 3600 + $2 * 60 + $3 }'; }
# The last video timestamp that decodes: how far a file really plays.
playable_s() {
    gst-launch-1.0 filesrc location="$1" ! qtdemux name=d d.video_0 ! h264parse ! avdec_h264 ! \
        identity silent=false ! fakesink sync=false -v 2>&1 | sed -n 's/.*identity.*pts: \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' |
        tail -1 | awk '{ printf "%.2f", $1 * 3600 + $2 * 60 + $3 }'
}
summary_unix() { sed -n 's/^summary .*unix=\([0-9.]*\).*/\1/p' "$1"; }

# --- 1. a 30 s class, and a recording started and stopped by an operator ---
# The class lasts from the teacher's "connected" (seen within 0.1 s) to its summary line.
teach rec1 30
T1=$!
wait_line "$OUT/teach-rec1.log" '^connected' 150
C1=$(now)
teach rec3 14
T3=$!
wait_line "$OUT/teach-rec3.log" '^connected' 150
sleep 2
code=$(api POST /api/recordings '{"class":"rec3"}')
check "POST /api/recordings {class: rec3} starts a recording (HTTP $code)" "$(yes_if "[ '$code' = 202 ]")"
sleep 6
check "rec3's recorder runs ($(worker rec3 state))" "$(yes_if "[ '$(worker rec3 state)' = running ]")"
code=$(api DELETE /api/recordings/rec3)
check "DELETE /api/recordings/rec3 stops it (HTTP $code)" "$(yes_if "[ '$code' = 200 ]")"
wait "$T1"
T1_END=$(now)
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H "Authorization: Bearer $ADMIN" "$BASE/api/classes/rec1/end")
for _ in $(seq 1 60); do [ "$(worker rec1 state)" = stopped ] && break; sleep 0.2; done
check "ending class rec1 (HTTP $code) stops its recorder within $(awk -v a="$T1_END" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s" \
    "$(yes_if "[ '$(worker rec1 state)' = stopped ]")"
SEG1=$(ls "$REC"/rec1-*-0001.mp4 2>/dev/null | head -1)
SIDE1=$(ls "$REC"/rec1-*.json 2>/dev/null | head -1)
check "rec1 left a segment and a sidecar: $(basename "${SEG1:-none}") $(basename "${SIDE1:-none}")" \
    "$(yes_if "[ -n '$SEG1' ] && [ -n '$SIDE1' ]")"
gst-discoverer-1.0 "$SEG1" >"$OUT/discover-rec1.txt" 2>&1
check "gst-discoverer-1.0 finds H.264 and Opus in rec1" \
    "$(yes_if "grep -q 'video #.*H.264' '$OUT/discover-rec1.txt' && grep -q 'audio #.*Opus' '$OUT/discover-rec1.txt'")"
REC_D=$(duration_of "$SEG1")
CLASS_D=$(awk -v a="$C1" -v b="$(summary_unix "$OUT/teach-rec1.log")" 'BEGIN { printf "%.2f", b - a }')
check "rec1 lasts ${REC_D:-?} s, the class $CLASS_D s (delta $(awk -v a="$REC_D" -v b="$CLASS_D" 'BEGIN { printf "%.2f", a - b }') s, within 1 s)" \
    "$(yes_if "awk -v a='${REC_D:-0}' -v b='$CLASS_D' 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1.0) }'")"
check "rec1's sidecar: state complete, class rec1, teacher t-rec1, one segment" \
    "$(yes_if "python3 -c \"import json,sys; d=json.load(open('$SIDE1')); sys.exit(not (d['state']=='complete' and d['class']=='rec1' and d['teacher']=='t-rec1' and len(d['segments'])==1 and d['segments'][0]['bytes']>0))\"")"
SEG3=$(ls "$REC"/rec3-*-0001.mp4 2>/dev/null | head -1)
check "rec3 (started by the API) recorded $(duration_of "${SEG3:-/nonexistent}") s" \
    "$(yes_if "[ -n '$SEG3' ] && awk -v d='$(duration_of "${SEG3:-/nonexistent}")' 'BEGIN { exit !(d >= 3) }'")"

# --- 2. kill -9 of a recorder mid-class ---
teach rec2 24
wait_line "$OUT/teach-rec2.log" '^connected' 150
check "the teacher of rec2 connected" "$(yes_if "grep -q '^connected' '$OUT/teach-rec2.log'")"
for _ in $(seq 1 100); do [ "$(worker rec2 state)" = running ] && break; sleep 0.1; done
sleep 10
PID1=$(worker rec2 pid)
KILL_T=$(now)
kill -9 "$PID1" 2>/dev/null
SIDE2A=$(ls "$REC"/rec2-*.json | head -1)
START2A=$(python3 -c "import json,datetime; d=json.load(open('$SIDE2A')); print(datetime.datetime.strptime(d['start'],'%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp())")
for _ in $(seq 1 50); do
    p=$(worker rec2 pid)
    [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$PID1" ] && [ "$(worker rec2 state)" = running ] && break
    sleep 0.1
done
RESTART_T=$(now)
check "the supervisor restarted the killed recorder in $(awk -v a="$KILL_T" -v b="$RESTART_T" 'BEGIN { printf "%.1f", b - a }') s (pid $PID1 -> $(worker rec2 pid), restarts $(worker rec2 restarts), last exit '$(worker rec2 last_exit)')" \
    "$(yes_if "[ '$(worker rec2 restarts)' = 1 ] && [ '$(worker rec2 state)' = running ]")"
SEG2A=$(ls "$REC"/rec2-*-0001.mp4 | head -1)
PLAY=$(playable_s "$SEG2A")
UPTO=$(awk -v k="$KILL_T" -v s="$START2A" 'BEGIN { printf "%.2f", k - s }')
check "the killed recorder's file plays $PLAY s of the $UPTO s it recorded (loses <= 4 s)" \
    "$(yes_if "awk -v p='${PLAY:-0}' -v u='$UPTO' 'BEGIN { exit !(p > 0 && u - p <= 4) }'")"
gst-discoverer-1.0 "$SEG2A" >"$OUT/discover-rec2a.txt" 2>&1
check "gst-discoverer-1.0 reads it: H.264 and Opus, $(duration_of "$SEG2A") s" \
    "$(yes_if "grep -q 'video #.*H.264' '$OUT/discover-rec2a.txt' && grep -q 'audio #.*Opus' '$OUT/discover-rec2a.txt'")"
wait_line "$OUT/teach-rec2.log" '^summary' 300
curl -s -o /dev/null -m 5 -X POST -H "Authorization: Bearer $ADMIN" "$BASE/api/classes/rec2/end"
for _ in $(seq 1 60); do [ "$(worker rec2 state)" = stopped ] && break; sleep 0.2; done
N2=$(ls "$REC"/rec2-*.json | wc -l)
check "the restarted recorder made a second recording of rec2 ($N2 sidecars)" "$(yes_if "[ '$N2' = 2 ]")"

# --- 3. the API ---
code=$(api GET /api/recordings)
cp "$OUT/api.json" "$OUT/list.json"
check "GET /api/recordings lists the recordings (HTTP $code, $(python3 -c "import json; print(len(json.load(open('$OUT/list.json'))['recordings']))" 2>/dev/null))" \
    "$(yes_if "[ '$code' = 200 ] && python3 -c \"import json,sys; d=json.load(open('$OUT/list.json')); sys.exit(len(d['recordings']) != 4)\"")"
check "the recording cut by SIGKILL is listed as interrupted" \
    "$(yes_if "python3 -c \"import json,sys; d=json.load(open('$OUT/list.json')); sys.exit(not any(r['sidecar']=='$(basename "$SIDE2A")' and r['state']=='interrupted' for r in d['recordings']))\"")"
NAME=$(basename "$SEG1")
SIZE=$(stat -c %s "$SEG1")
code=$(curl -s -m 10 -o "$OUT/dl.mp4" -w '%{http_code}' -H "Authorization: Bearer $OPER" "$BASE/api/recordings/$NAME")
check "download $NAME: HTTP $code, $(stat -c %s "$OUT/dl.mp4") of $SIZE bytes, identical" \
    "$(yes_if "[ '$code' = 200 ] && cmp -s '$OUT/dl.mp4' '$SEG1'")"
code=$(curl -s -m 5 -D "$OUT/h.txt" -o "$OUT/part" -w '%{http_code}' -H "Authorization: Bearer $OPER" -H 'Range: bytes=100-199' "$BASE/api/recordings/$NAME")
check "Range bytes=100-199: HTTP $code, $(grep -i '^content-range' "$OUT/h.txt" | tr -d '\r')" \
    "$(yes_if "[ '$code' = 206 ] && [ \$(stat -c %s '$OUT/part') = 100 ] && cmp -s '$OUT/part' <(tail -c +101 '$SEG1' | head -c 100) && grep -qi 'content-range: bytes 100-199/$SIZE' '$OUT/h.txt'")"
code=$(curl -s -m 5 -o "$OUT/part" -w '%{http_code}' -H "Authorization: Bearer $OPER" -H 'Range: bytes=-64' "$BASE/api/recordings/$NAME")
check "Range bytes=-64: HTTP $code, the last 64 bytes" "$(yes_if "[ '$code' = 206 ] && cmp -s '$OUT/part' <(tail -c 64 '$SEG1')")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPER" -H "Range: bytes=$SIZE-" "$BASE/api/recordings/$NAME")
check "Range past the end: HTTP $code (416)" "$(yes_if "[ '$code' = 416 ]")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$BASE/api/recordings/$NAME")
check "download without a token: HTTP $code (401)" "$(yes_if "[ '$code' = 401 ]")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(token --class rec1 --role classroom --classroom r1)" "$BASE/api/recordings")
check "a classroom token may not list recordings: HTTP $code (403)" "$(yes_if "[ '$code' = 403 ]")"

# Names with a path in them.
for body in '{"class":"../../escape"}' '{"class":"a/b"}' '{"class":"..%2Fescape"}' '{"class":"."}'; do
    code=$(api POST /api/recordings "$body")
    check "POST /api/recordings $body is refused: HTTP $code, code $(python3 -c "import json; print(json.load(open('$OUT/api.json'))['error']['code'])" 2>/dev/null)" \
        "$(yes_if "[ '$code' = 400 ]")"
done
code=$(api DELETE "/api/recordings/..%2F..%2Fescape")
check "DELETE /api/recordings/..%2F..%2Fescape is refused (HTTP $code)" "$(yes_if "[ '$code' = 400 ] || [ '$code' = 404 ]")"
echo secret >"$OUT/outside.txt"
for p in "/api/recordings/..%2Foutside.txt" "/api/recordings/../outside.txt" "/api/recordings/%2E%2E/outside.txt" "/api/recordings/..%2Frelay.conf"; do
    code=$(curl -s --path-as-is -m 5 -o "$OUT/got" -w '%{http_code}' -H "Authorization: Bearer $OPER" "$BASE$p")
    check "GET $p does not leave the directory (HTTP $code)" "$(yes_if "[ '$code' != 200 ] && ! grep -q secret '$OUT/got'")"
done
ln -s "$OUT/outside.txt" "$REC/link-20260101T000000Z.json"
code=$(curl -s -m 5 -o "$OUT/got" -w '%{http_code}' -H "Authorization: Bearer $OPER" "$BASE/api/recordings/link-20260101T000000Z.json")
check "a symlink in the directory is not followed (HTTP $code)" "$(yes_if "[ '$code' = 404 ]")"
rm -f "$REC/link-20260101T000000Z.json"
for url in "$BASE/whep/..%2F..%2Fescape" "$BASE/whep/../../escape" "$BASE/whep/a/b"; do
    "$CLIENT" record "$url" --dir "$REC" --token "$OPER" >"$OUT/bad-record.log" 2>&1
    rc=$?
    check "record $url refuses (exit $rc: $(head -1 "$OUT/bad-record.log"))" "$(yes_if "[ '$rc' = 2 ]")"
done
outside=$(find "$OUT" -newer "$OUT/.start-marker" ! -path "$REC/*" \( -name '*escape*' -o -name 'rec[0-9]-*' \) | head -3)
check "no file was written outside the recordings directory${outside:+: $outside}" "$(yes_if "[ -z '$outside' ]")"
inside=$(find "$REC" -type f -regextype posix-extended ! -regex '.*/rec[123]-[0-9]{8}T[0-9]{6}Z(-[0-9]{4}\.mp4|\.json)' | head -3)
check "the directory holds only server-named files${inside:+: $inside}" "$(yes_if "[ -z '$inside' ]")"

relay_stop
finish
