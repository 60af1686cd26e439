#!/bin/bash
# The relay binary's command line and configuration errors, as a user meets them.
#   tests/integration/relay_cli.sh BUILD_DIR
set -u
RELAY=$1/relay/classrelay
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
check() { # NAME EXPECTED_RC PATTERN -- ARGS...
    local name=$1 want=$2 pat=$3
    shift 4
    out=$("$RELAY" "$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then
        PASS=$((PASS + 1)); echo "ok    $name: $(head -1 <<<"$out")"
    else
        FAIL=$((FAIL + 1)); echo "FAIL  $name: rc=$rc (want $want), output: $out"
    fi
}

printf '[relay]\nworkers = 2\nmedia_port = 12000\n' >"$T/good.conf"
printf '[relay]\n# comment\nhttp_listen = 127.0.0.1:8080\nworkers = 0\n' >"$T/bad.conf"
printf '[relay]\nmedia_ip = 10.0.0.300\n' >"$T/badip.conf"
printf '[relay]\nbogus = 1\n' >"$T/unknown.conf"

check "defaults need no config" 0 "http_listen = 127.0.0.1:8080" -- --check-config
check "a good config is applied" 0 "workers = 2" -- --config "$T/good.conf" --check-config
check "bad value names file, line and key" 1 "bad.conf:4: key 'workers'" -- --config "$T/bad.conf"
check "bad address" 1 "badip.conf:2: key 'media_ip'" -- --config "$T/badip.conf"
check "unknown key" 1 "unknown.conf:2: key 'bogus'" -- --config "$T/unknown.conf"
check "missing file" 1 "nope.conf" -- --config "$T/nope.conf"
check "unknown argument" 2 "unknown argument" -- --frobnicate
check "help" 0 "usage: classrelay" -- --help
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
