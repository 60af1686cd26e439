# Shared by the ingest and recording integration tests (ingest_rtsp.sh, ingest_transcode.sh,
# record.sh); sourced, not run. Each test re-executes itself inside `unshare -n` with the veth pair
# of e2e_class.sh (v0 10.99.0.1, v1 10.99.0.2), starts the relay with its own config, and reports
# "ok"/"FAIL" lines and "N passed, M failed".
#
#   workers_enter NAME "$@"   re-exec in a namespace (or exit 77 / skip); sets BUILD, OUT, CLIENT
#   relay_start CONF_TEXT     writes $OUT/relay.conf, starts the relay, waits for HTTP
#   relay_launch              starts the relay on the $OUT/relay.conf already written, waits for HTTP
#   token ARGS...             classrelay token --config $OUT/relay.conf ARGS
#   check NAME 0|1            counts and prints a result
#   finish                    prints the totals; exit status 0 when nothing failed

workers_enter() {
    local name=$1
    shift
    if [ -z "${CR_WK_INNER:-}" ]; then
        [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
        local build
        build=$(cd "$1" && pwd) || exit 2
        for bin in relay/classrelay client/classrelay-client; do
            if [ ! -x "$build/$bin" ]; then echo "SKIP: $build/$bin is not built"; exit 77; fi
        done
        if ! unshare -n true 2>/dev/null; then
            echo "SKIP: cannot create a network namespace (unshare -n needs root)"
            [ -n "${CI:-}" ] && exit 1
            exit 77
        fi
        local out=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-$name.XXXXXX")}
        if [ -n "${CR_TEST_OUT:-}" ]; then
            out=$out/$name
            rm -rf "$out" # logs of an earlier run would be read as this one's
        fi
        mkdir -p "$out"
        export CR_WK_INNER=1 CR_WK_BUILD="$build" CR_WK_OUT="$out"
        exec unshare -n bash "$0" "$@"
    fi
    BUILD=$CR_WK_BUILD
    OUT=$CR_WK_OUT
    CLIENT=$BUILD/client/classrelay-client
    IP=10.99.0.1
    BASE=http://$IP:8080
    PIDS=()
    PASS=0
    FAIL=0
    trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT
    ip link add v0 type veth peer name v1 && ip addr add 10.99.0.1/24 dev v0 &&
        ip addr add 10.99.0.2/24 dev v1 && ip link set lo up && ip link set v0 up &&
        ip link set v1 up && ip route add default via 10.99.0.1 || { echo "FAIL: cannot set up the veth pair"; exit 1; }
    echo "logs in $OUT"
}

now() { date +%s.%N; }

check() {
    if [ "$2" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1"; else FAIL=$((FAIL + 1)); echo "FAIL  $1"; fi
}

yes_if() { if eval "$1"; then echo 1; else echo 0; fi; }

# wait_line FILE PATTERN TENTHS: 0 once FILE has a line matching PATTERN.
wait_line() {
    local i
    for i in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

relay_start() {
    printf '%s\n' "$1" >"$OUT/relay.conf"
    relay_launch
}

relay_launch() {
    "$BUILD/relay/classrelay" --config "$OUT/relay.conf" >"$OUT/relay.log" 2>&1 &
    RELAY=$!
    PIDS+=("$RELAY")
    local i
    for i in $(seq 1 50); do
        [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$BASE/" 2>/dev/null)" != "000" ] && return 0
        kill -0 "$RELAY" 2>/dev/null || break
        sleep 0.2
    done
    echo "FAIL: relay did not start"
    tail -20 "$OUT/relay.log"
    exit 1
}

relay_stop() {
    kill -TERM "$RELAY" 2>/dev/null
    local i
    for i in $(seq 1 75); do kill -0 "$RELAY" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$RELAY" 2>/dev/null
    wait "$RELAY" 2>/dev/null
}

token() { "$BUILD/relay/classrelay" token --config "$OUT/relay.conf" "$@"; }

# status_get EXPR: a value from GET /api/status evaluated by python (d is the document); with the
# token STATUS_TOKEN when it is set.
status_get() {
    local auth=()
    [ -z "${STATUS_TOKEN:-}" ] || auth=(-H "Authorization: Bearer $STATUS_TOKEN")
    curl -s -m 2 "${auth[@]}" "$BASE/api/status" | python3 -c "import json,sys
try:
    d=json.load(sys.stdin); print($1)
except Exception as e: print('')"
}

# series FILE FIELD > out: "unix value" pairs of a client's stats lines.
series() {
    grep -E '^(stats|summary) ' "$1" | sed -n "s/.* $2=\([0-9]*\).*unix=\([0-9.]*\).*/\2 \1/p"
}

# ratio SENT_SERIES RECV_SERIES FROM TO: received/sent frames between unix times FROM and TO,
# each series interpolated linearly (prints "received sent ratio").
ratio() {
    awk -v from="$3" -v to="$4" -v sent="$1" '
    function at(n, u, v, t,   i) {
        if (n == 0) return -1
        if (t <= u[1]) return v[1]
        for (i = 2; i <= n; i++) if (t <= u[i]) return v[i-1] + (v[i] - v[i-1]) * (t - u[i-1]) / (u[i] - u[i-1])
        return v[n]
    }
    BEGIN { while ((getline l < sent) > 0) { split(l, p, " "); ns++; su[ns] = p[1]; sv[ns] = p[2] } }
    { nr++; ru[nr] = $1; rv[nr] = $2 }
    END {
        s = at(ns, su, sv, to) - at(ns, su, sv, from); r = at(nr, ru, rv, to) - at(nr, ru, rv, from)
        printf "%d %d %.3f\n", r, s, (s > 0 ? r / s : 0)
    }' "$2"
}

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
