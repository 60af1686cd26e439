#!/bin/bash
# Integration test: a 1080p studio source transcoded into three simulcast layers.
#
#   tests/integration/ingest_transcode.sh BUILD_DIR
#
# In a network namespace: rtsp_testsrv serves 1920x1080 at 10 fps (kept short and slow: the
# machine has two cores); the relay's [source.studio1] has transcode = true, layers =
# 1080,720,360, so the supervised ingest decodes it and publishes rid h, m and l in one m-line.
# Three classrooms each choose a layer (POST /resource/<id>/layer with their own token). Checks:
#   - each decodes the resolution of its layer: 1920x1080, 1280x720, 640x360;
#   - the relay counts one subscriber on each of h, m and l (GET /metrics);
#   - each keeps decoding at >= 80% of the source's 10 fps once on its layer.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/workers_lib.sh"
if [ -z "${CR_WK_INNER:-}" ] && [ $# -ge 1 ] && [ ! -x "$1/tests/tools/rtsp_testsrv" ]; then
    echo "SKIP: rtsp_testsrv is not built (libgstrtspserver-1.0-dev missing)"
    exit 77
fi
workers_enter ingest-transcode "$@"

"$BUILD/tests/tools/rtsp_testsrv" --address $IP --port 8554 --width 1920 --height 1080 --fps 10 \
    --bitrate 2500 >"$OUT/rtsp.log" 2>&1 &
PIDS+=("$!")
wait_line "$OUT/rtsp.log" "^ready" 50 || { echo "FAIL: rtsp_testsrv did not start"; exit 1; }

relay_start "[relay]
http_listen = $IP:8080
media_ip = $IP
[auth]
secret = ingest-transcode-secret-ingest-transcode-01
[supervise]
log_dir = $OUT
[source.studio1]
class = lesson
url = rtsp://$IP:8554/live
transcode = true
layers = 1080,720,360
fps = 10"
ING=$OUT/ingest-studio1.log
wait_line "$ING" '^connected' 300
check "the supervised ingest transcodes and publishes: $(grep -m1 '^ingest:' "$ING")" \
    "$(yes_if "grep -q '^connected' '$ING' && grep -q 'h=1920x1080.*m=1280x720.*l=640x360' '$ING'")"

declare -A WANT=([h]=1920x1080 [m]=1280x720 [l]=640x360)
for r in h m l; do
    tok=$(token --class lesson --role classroom --classroom room-$r)
    eval "TOK_$r=\$tok"
    "$CLIENT" attend --headless --duration 26 --token "$tok" "$BASE/whep/lesson" >"$OUT/attend-$r.log" \
        2>"$OUT/attend-$r.err" &
    PIDS+=("$!")
    eval "ATT_$r=$!"
done
for r in h m l; do wait_line "$OUT/attend-$r.log" '^connected' 150; done
sleep 1
for r in h m l; do
    res=$(status_get "[s['resource'] for s in d['session_list'] if s.get('participant')=='room-$r' and s['role']=='subscriber'][0]")
    eval "tok=\$TOK_$r"
    code=$(curl -s -o "$OUT/layer-$r.json" -w '%{http_code}' -m 3 -X POST -H "Authorization: Bearer $tok" \
        -d "$r" "$BASE/resource/$res/layer")
    check "room-$r asks for layer $r (HTTP $code)" "$(yes_if "[ '$code' = 200 ]")"
done
SWITCH_T=$(now)
sleep 7
curl -s -m 3 "$BASE/metrics" >"$OUT/metrics.txt"
for r in h m l; do
    n=$(sed -n "s/^classrelay_class_subscribers_by_layer{class=\"lesson\",layer=\"$r\"} //p" "$OUT/metrics.txt")
    check "the relay forwards layer $r to ${n:-0} subscriber (1 expected)" "$(yes_if "[ '${n:-0}' = 1 ]")"
done
for r in h m l; do eval "wait \$ATT_$r"; done
relay_stop

for r in h m l; do
    A=$OUT/attend-$r.log
    got=$(grep '^video ' "$A" | tail -1 | cut -d' ' -f2)
    check "room-$r decodes ${got:-nothing} (layer $r: ${WANT[$r]})" "$(yes_if "[ '$got' = '${WANT[$r]}' ]")"
    series "$A" frames_decoded >"$OUT/recv-$r.series"
    last=$(grep '^stats' "$A" | tail -1 | sed -n 's/.*unix=\([0-9.]*\).*/\1/p')
    from=$(awk -v s="$SWITCH_T" 'BEGIN { printf "%.3f", s + 3 }')
    fig=$(ratio "$OUT/recv-$r.series" "$OUT/recv-$r.series" "$from" "$last")
    fps=$(awk -v n="$(echo "$fig" | cut -d' ' -f1)" -v a="$from" -v b="$last" 'BEGIN { if (b > a) printf "%.1f", n / (b - a); else print 0 }')
    check "room-$r decodes $fps fps on its layer (>= 8 of 10)" "$(yes_if "awk -v f='$fps' 'BEGIN { exit !(f >= 8) }'")"
done
finish
