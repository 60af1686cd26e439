#!/bin/bash
# Integration test of issue 7 (metrics, Prometheus, lesson reports):
#
#   tests/integration/metrics_prom.sh BUILD_DIR
#
# In its own network namespace (veth v0 10.99.0.1 / v1 10.99.0.2): the relay with a timetable class
# (three invited classrooms, [ops] report_dir), a `teach --test` teacher and two `attend --headless`
# classrooms of school "county-1" (the third never comes). Then:
#   - GET /metrics passes `promtool check metrics`;
#   - a real Prometheus (Debian's binary, temp config and data dir, 1 s scrapes) scrapes the relay;
#     its HTTP API (/api/v1/query) returns a non-zero classroom bitrate and packets_sent rate;
#   - the admin API ends the class; a lesson report (JSON + HTML) is written and listed, and its
#     attended minutes and freeze counts agree with what the classrooms measured (their stats lines).
# Prints "N passed, M failed"; exit 77 (skip, never in CI) when something it needs is missing.
set -u

if [ -z "${CR_PROM_INNER:-}" ]; then
    [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    skip() {
        echo "SKIP: $1"
        [ -n "${CI:-}" ] && exit 1
        exit 77
    }
    BUILD=$(cd "$1" && pwd) || exit 2
    [ -x "$BUILD/relay/classrelay" ] || skip "$BUILD/relay/classrelay is not built"
    [ -x "$BUILD/client/classrelay-client" ] || skip "$BUILD/client/classrelay-client is not built"
    PROM=$(command -v prometheus || echo /usr/bin/prometheus)
    [ -x "$PROM" ] || skip "prometheus is missing (scripts/deps.sh --test installs it)"
    command -v promtool >/dev/null || skip "promtool is missing (Debian package prometheus)"
    command -v python3 >/dev/null || skip "python3 is missing"
    unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n needs root)"
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-prom.XXXXXX")}/metrics_prom
    rm -rf "$OUT"
    mkdir -p "$OUT"
    export CR_PROM_INNER=1 CR_PROM_BUILD="$BUILD" CR_PROM_OUT="$OUT" CR_PROM_BIN="$PROM"
    exec unshare -n bash "$0" "$@"
fi

BUILD=$CR_PROM_BUILD
OUT=$CR_PROM_OUT
CLIENT=$BUILD/client/classrelay-client
IP=10.99.0.1
BASE=http://$IP:8080
PROMURL=http://127.0.0.1:9091
CLASS=county-math
ATT=()
DURATION=24 # attendee --duration
PIDS=()
PASS=0
FAIL=0
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT
# shellcheck source=tests/integration/workers_lib.sh
. "$(dirname "$0")/workers_lib.sh" # token, relay_launch (its check and finish are replaced below)
check() { # check NAME TEXT 0|1
    if [ "$3" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1: $2"; else FAIL=$((FAIL + 1)); echo "FAIL  $1: $2"; fi
}
finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ] && exit 0
    exit 1
}

ip link add v0 type veth peer name v1 && ip addr add 10.99.0.1/24 dev v0 && ip addr add 10.99.0.2/24 dev v1 &&
    ip link set lo up && ip link set v0 up && ip link set v1 up && ip route add default via 10.99.0.1 ||
    { echo "FAIL: cannot set up the veth pair"; exit 1; }

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$OUT/relay.conf" <<CONF
[relay]
http_listen = $IP:8080
media_ip = $IP
[auth]
secret = metrics-prom-secret-metrics-prom-secret
admin_remote = true
[ops]
event_log = $OUT/events.log
report_dir = $OUT/reports
[class.$CLASS]
kind = synchronous
title = "County math"
school = anchor-1
teacher = t-zhao
classrooms = c1-r1, c1-r2, c1-r3
start = $START
CONF
echo "logs in $OUT"
relay_launch
ADMIN=$(token --role admin --class '*')
OPER=$(token --role operator --class '*')

rm -f "$OUT/teach.log" # (an earlier run's "connected" must not end the wait below)
"$CLIENT" teach --test --width 640 --height 360 --bitrate 800 --token "$(token --role teacher --class $CLASS --id t-zhao)" \
    "$BASE/whip/$CLASS" >"$OUT/teach.log" 2>"$OUT/teach.err" &
PIDS+=("$!")
for _ in $(seq 1 150); do grep -q '^connected' "$OUT/teach.log" 2>/dev/null && break; sleep 0.1; done
for i in 1 2; do
    "$CLIENT" attend --headless --duration $DURATION \
        --token "$(token --role classroom --class $CLASS --classroom c1-r$i --school county-1)" \
        "$BASE/whep/$CLASS" >"$OUT/attend$i.log" 2>"$OUT/attend$i.err" &
    PIDS+=("$!")
    ATT+=("$!")
done

# Prometheus scraping the relay once a second.
mkdir -p "$OUT/prom-data"
cat >"$OUT/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: classrelay
    static_configs:
      - targets: ['$IP:8080']
YML
"$CR_PROM_BIN" --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/prom-data" \
    --web.listen-address=127.0.0.1:9091 >"$OUT/prometheus.log" 2>&1 &
PIDS+=("$!")

sleep 8
curl -s -m 3 "$BASE/metrics" >"$OUT/metrics.txt"
promtool check metrics <"$OUT/metrics.txt" >"$OUT/promtool.txt" 2>&1
rc=$?
check promtool "GET /metrics passes promtool check metrics ($(wc -l <"$OUT/metrics.txt") lines$(
    [ $rc = 0 ] || echo ": $(head -3 "$OUT/promtool.txt" | tr '\n' ' ')"))" $([ $rc = 0 ] && echo 1 || echo 0)

# Values back through Prometheus's query API (retried while the first scrapes come in).
query() { # query PROMQL -> the first sample's value, or ""
    curl -s -m 3 --get "$PROMURL/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
nonzero() { python3 -c 'import sys; v=sys.argv[1]; sys.exit(0 if v and float(v) > 0 else 1)' "$1"; }
for q in 'classrelay_classroom_link_bytes_per_second{school="county-1",classroom="c1-r1"} * 8' \
    'sum(rate(classrelay_packets_sent_total[5s]))' \
    "classrelay_class_bytes_per_second{class=\"$CLASS\"} * 8" \
    "classrelay_class_subscribers{class=\"$CLASS\"}"; do
    v=""
    for _ in $(seq 1 20); do
        v=$(query "$q")
        [ -n "$v" ] && nonzero "$v" && break
        sleep 0.5
    done
    ok=0
    [ -n "$v" ] && nonzero "$v" && ok=1
    check prometheus "query $q = ${v:-none}" $ok
done

# End the class through the admin API once the classrooms are done; the report follows.
for p in "${ATT[@]}"; do wait "$p" 2>/dev/null; done
curl -s -m 3 -X POST -H "Authorization: Bearer $ADMIN" "$BASE/api/classes/$CLASS/end" >"$OUT/end.json"
for _ in $(seq 1 30); do ls "$OUT"/reports/*.json >/dev/null 2>&1 && break; sleep 0.2; done
REPORT=$(ls "$OUT"/reports/$CLASS-*.json 2>/dev/null | head -1)
check report "a lesson report was written when the class ended (${REPORT:-none})" $([ -n "$REPORT" ] && [ -f "${REPORT%.json}.html" ] && echo 1 || echo 0)
curl -s -m 3 -H "Authorization: Bearer $OPER" "$BASE/api/reports" >"$OUT/reports.json"
listed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["reports"]))' "$OUT/reports.json" 2>/dev/null)
check report "GET /api/reports lists it (${listed:-0})" $([ "${listed:-0}" = 1 ] && echo 1 || echo 0)
if [ -n "$REPORT" ]; then
    python3 - "$REPORT" "$OUT/attend1.log" "$OUT/attend2.log" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
ok = fail = 0
def check(name, text, cond):
    global ok, fail
    print(("ok    " if cond else "FAIL  ") + name + ": " + text)
    ok += bool(cond); fail += not cond
def client(path):
    """Seconds with decoded video, and freezes (runs of >= 1 s without a decoded frame) from the stats lines."""
    secs, frozen, freezes, t_first = 0, 0, 0, None
    prev = None
    for line in open(path):
        if not line.startswith("stats "):
            continue
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        n = int(f["frames_decoded"])
        if t_first is None and n > 0:
            t_first = int(f["t"])
        if t_first is not None:
            secs += 1
            stalled = prev is not None and n == prev
            if stalled and not frozen:
                freezes += 1
            frozen = stalled
        prev = n
    return secs, freezes
rooms = {r["classroom"]: r for r in rep["classrooms"]}
print("report: started_on_time=%s invited=%s attended=%s attendance_rate=%s minutes=%s" % (
    rep.get("started_on_time"), rep.get("invited"), rep.get("attended"), rep.get("attendance_rate"), rep.get("minutes")))
check("report", "3 invited, 2 attended, attendance rate 0.667, started on time",
      rep["invited"] == 3 and rep["attended"] == 2 and abs((rep["attendance_rate"] or 0) - 0.667) < 0.001
      and rep["started_on_time"] is True)
for i, path in ((1, sys.argv[2]), (2, sys.argv[3])):
    name = "c1-r%d" % i
    secs, freezes = client(path)
    r = rooms.get(name)
    if r is None:
        check("report", name + " is in the report", False)
        continue
    mins = r["minutes_attended"]
    print("%s: client decoded video for %d s, %d freezes; report %.1f min, %d freezes (longest %d s), loss mean %.2f%%, "
          "RTT mean %.1f ms, layers %s" % (name, secs, freezes, mins, r["freezes"]["count"], r["freezes"]["longest_s"],
                                         r["loss_percent"]["mean"], r["rtt_ms"]["mean"], r["layers_seconds"]))
    check("report", "%s attended %.1f min, the client played %.2f min (within 0.1 min + 3 s)" % (name, mins, secs / 60.0),
          abs(mins - secs / 60.0) <= 0.1 + 3 / 60.0)
    check("report", "%s freezes: report %d, client %d (equal within 1)" % (name, r["freezes"]["count"], freezes),
          abs(r["freezes"]["count"] - freezes) <= 1)
print("%d passed, %d failed" % (ok, fail))
sys.exit(0 if fail == 0 else 1)
PY
    rc=$?
    check report "figures consistent with the classrooms' own measurements" $([ $rc = 0 ] && echo 1 || echo 0)
fi
kill -0 "$RELAY" 2>/dev/null && alive=1 || alive=0
check relay "still running at the end" $alive
grep -c '"event"' "$OUT/events.log" >/dev/null 2>&1 && echo "event log: $(wc -l <"$OUT/events.log") lines in $OUT/events.log"
finish
