#!/bin/bash
# Runs one browser test in its own network namespace:
#
#   tests/integration/browser/run.sh BUILD_DIR TEST      (TEST.mjs in this folder)
#
# Outside the namespace: checks that the relay, the client, /usr/bin/chromium and node are there
# and installs playwright-core with `npm ci` from package-lock.json when node_modules does not
# already hold the locked version (playwright-core only: it never downloads a browser). Inside
# (unshare -n): a veth pair v0 10.99.0.1 / v1 10.99.0.2, because Chromium and libnice gather no
# loopback candidates; the relay on 10.99.0.1:8080 (HTTP) and UDP 10000+; then `node TEST.mjs`,
# which prints "ok/FAIL" lines and "N passed, M failed". Logs and screenshots go to
# $CR_TEST_OUT/browser-TEST/ (or a temp dir). Exit 0 pass, 1 fail, 77 skip (never in CI).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${CR_BROWSER_INNER:-}" ]; then
    [ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR TEST" >&2; exit 2; }
    skip() {
        echo "SKIP: $1"
        [ -n "${CI:-}" ] && exit 1 # in CI the test must run, not skip
        exit 77
    }
    BUILD=$(cd "$1" && pwd) || exit 2
    TEST=$2
    [ -f "$HERE/$TEST.mjs" ] || { echo "no such test: $HERE/$TEST.mjs" >&2; exit 2; }
    [ -x "$BUILD/relay/classrelay" ] || skip "$BUILD/relay/classrelay is not built"
    [ -x "$BUILD/client/classrelay-client" ] || skip "$BUILD/client/classrelay-client is not built"
    [ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (scripts/deps.sh --test installs it)"
    command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm are missing (scripts/deps.sh --test)"
    unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n needs root/CAP_SYS_ADMIN)"

    want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
        "$HERE/package-lock.json")
    have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("none") }' \
        "$HERE/node_modules/playwright-core/package.json")
    if [ "$want" != "$have" ]; then
        echo "installing playwright-core $want (npm ci)"
        (cd "$HERE" && flock "$HERE/package-lock.json" npm ci --ignore-scripts --no-audit --no-fund \
            >/dev/null) || skip "npm ci failed in $HERE"
    fi

    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-browser.XXXXXX")}/browser-$TEST
    rm -rf "$OUT"
    mkdir -p "$OUT"
    export CR_BROWSER_INNER=1 CR_BUILD="$BUILD" CR_OUT="$OUT" CR_TEST="$TEST"
    exec unshare -n bash "$0" "$@"
fi

IP=10.99.0.1
PORT=8080
export CR_BASE="http://$IP:$PORT" CR_CONF="$CR_OUT/relay.conf"

ip link add v0 type veth peer name v1 &&
    ip addr add 10.99.0.1/24 dev v0 &&
    ip addr add 10.99.0.2/24 dev v1 &&
    ip link set lo up && ip link set v0 up && ip link set v1 up &&
    ip route add default via 10.99.0.1 || { echo "FAIL: cannot set up the veth pair"; exit 1; }

# A secret of this run's own, so tokens minted by `classrelay token --config` match the relay.
cat >"$CR_CONF" <<CONF
[relay]
http_listen = $IP:$PORT
media_ip = $IP
CONF
if "$CR_BUILD/relay/classrelay" --help 2>&1 | grep -q 'classrelay token'; then
    printf '[auth]\nsecret = %s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>"$CR_CONF"
fi
# A test's own configuration (e.g. a topology for the scheduler), when it has one.
[ ! -f "$HERE/$CR_TEST.conf" ] || cat "$HERE/$CR_TEST.conf" >>"$CR_CONF"

echo "logs in $CR_OUT"
"$CR_BUILD/relay/classrelay" --config "$CR_CONF" >"$CR_OUT/relay.log" 2>&1 &
RELAY=$!
export CR_RELAY_PID=$RELAY
cleanup() {
    kill -TERM "$RELAY" 2>/dev/null
    for _ in $(seq 1 25); do kill -0 "$RELAY" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$RELAY" 2>/dev/null
    wait 2>/dev/null
}
trap cleanup EXIT

up=0
for _ in $(seq 1 50); do
    if [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$CR_BASE/" 2>/dev/null)" != "000" ]; then up=1; break; fi
    kill -0 "$RELAY" 2>/dev/null || break
    sleep 0.2
done
if [ $up -ne 1 ]; then
    echo "FAIL: relay did not answer HTTP on $CR_BASE within 10 s"
    tail -20 "$CR_OUT/relay.log"
    echo "0 passed, 1 failed"
    exit 1
fi

node "$HERE/$CR_TEST.mjs"
