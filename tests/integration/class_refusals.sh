#!/bin/bash
# Integration test of issue 4: scripted unauthorized attempts, every one refused with its numbered
# error and counted, and no media from a refused peer reaching any subscriber.
#
#   tests/integration/class_refusals.sh BUILD_DIR
#
# In a network namespace (veth 10.99.0.1 / 10.99.0.2) the relay (HTTP on every address, so the admin
# API is reachable on loopback and refused from 10.99.0.1) runs a network class net1 (any teacher)
# and a synchronous class sync1 (teacher t1, classrooms c1 c2). Teacher t1 publishes to net1 at
# 320x240 and classroom w1 watches it. Then, over HTTP (curl) and WebSocket (cr-ws-tool):
#   no token, bad signature / foreign secret / garbage, expired, wrong class, classroom publishing
#   into a network class (also with the real client, at 160x120), second teacher (also with the real
#   client, at 256x144), not the class's teacher, admin calls without the admin role or from a
#   non-loopback address, oversized and fragmented-oversized signaling messages, malformed JSON,
#   too deep, long keys, binary frames, unknown types, requests before join, classroom control
#   requests in a network class, floods, a connection that never joins.
# Checks: each attempt got its expected code (HTTP status and JSON code, or signaling error/close
# code); /api/status counts exactly those refusals per code; the watcher only ever decoded the
# teacher's 320x240 and kept decoding; the relay has exactly the two legitimate sessions.
# The lesson's two clients run with --reconnect (a failed negotiation under load is retried).
# Exits 0 if all pass, 1 otherwise, 77 (skip) without the binaries or namespaces.
set -u

if [ -z "${CR_IT_INNER:-}" ]; then
    [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    BUILD=$(cd "$1" && pwd) || exit 2
    for b in relay/classrelay client/classrelay-client tests/integration/cr-ws-tool; do
        [ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
    done
    command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
    unshare -n true 2>/dev/null || { echo "SKIP: cannot create a network namespace (needs root)"; exit 77; }
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-class-refusals.XXXXXX")}
    OUT=$OUT/class_refusals
    rm -rf "$OUT" && mkdir -p "$OUT"
    export CR_IT_INNER=1 CR_IT_BUILD="$BUILD" CR_IT_OUT="$OUT"
    exec timeout -k 5 58 unshare -n bash "$0" "$@"
fi

BUILD=$CR_IT_BUILD
OUT=$CR_IT_OUT
CLIENT=$BUILD/client/classrelay-client
WS=$BUILD/tests/integration/cr-ws-tool
IP=10.99.0.1
BASE=http://$IP:8080
LOOP=http://127.0.0.1:8080
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT

ip link add v0 type veth peer name v1 && ip addr add 10.99.0.1/24 dev v0 &&
    ip addr add 10.99.0.2/24 dev v1 && ip link set lo up && ip link set v0 up &&
    ip link set v1 up && ip route add default via 10.99.0.1 || { echo "FAIL: veth"; exit 1; }

cat >"$OUT/relay.conf" <<CONF
[relay]
http_listen = 0.0.0.0:8080
media_ip = $IP
[auth]
secret = class-refusals-secret-class-refusals-secret
[signal]
ws_idle_timeout_s = 5
[class.net1]
kind = network
[class.sync1]
kind = synchronous
teacher = t1
classrooms = c1, c2
CONF
printf '[auth]\nsecret = some-other-relays-secret-some-other-relays\n' >"$OUT/other.conf"
mint() { "$BUILD/relay/classrelay" token --config "$OUT/relay.conf" "$@"; }
TT=$(mint --role teacher --class net1 --id t1)
WT=$(mint --role classroom --class net1 --classroom w1)
AT=$(mint --role admin --class '*')
EXPIRING_T=$(mint --role teacher --class net1 --id t9 --ttl 1)
EXPIRING_C=$(mint --role classroom --class net1 --classroom c9 --ttl 1)
EXPIRING_A=$(mint --role admin --class '*' --ttl 1)
EXPIRING_EPOCH=$(date +%s)
declare -a NETC NETT SYNCT
# A few tokens per kind of attempt, minted once (the attempts, not the minting, are the test).
for i in 1 2 3 4; do
    NETC[$i]=$(mint --role classroom --class net1 --classroom "c$i")
    NETT[$i]=$(mint --role teacher --class net1 --id "t$((i + 1))")
    SYNCT[$i]=$(mint --role teacher --class sync1 --id "t$((i + 1))")
done
ANYC=$(mint --role classroom --class '*' --classroom c5)
SYNC_C=$(mint --role classroom --class sync1 --classroom c1)
SYNC_T=$(mint --role teacher --class sync1 --id t1)
OT=$(mint --role operator --class '*')
FOREIGN=$("$BUILD/relay/classrelay" token --config "$OUT/other.conf" --role admin --class '*')

PASS=0
FAIL=0
check() {
    if [ "$2" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1"; else FAIL=$((FAIL + 1)); echo "FAIL  $1"; fi
}
yes_if() { if eval "$1"; then echo 1; else echo 0; fi; }
wait_grep() { for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

"$BUILD/relay/classrelay" --config "$OUT/relay.conf" >"$OUT/relay.log" 2>&1 &
RELAY=$!
PIDS+=("$RELAY")
for _ in $(seq 1 50); do curl -s -o /dev/null "$BASE/" && break; sleep 0.1; done

# The legitimate lesson: teacher t1 publishes to net1, classroom w1 watches.
"$CLIENT" teach --reconnect --test --token "$TT" --width 320 --height 240 --fps 15 --bitrate 300 \
    "$BASE/whip/net1" >"$OUT/teach_t1.log" 2>&1 &
PIDS+=("$!")
wait_grep "$OUT/teach_t1.log" '^connected' 150
"$CLIENT" attend --reconnect --headless --token "$WT" "$BASE/whep/net1" >"$OUT/watch.log" 2>&1 &
PIDS+=("$!")
wait_grep "$OUT/watch.log" '^video 320x240' 150
check "the watcher decodes the teacher (320x240)" "$(yes_if "grep -q '^video 320x240' '$OUT/watch.log'")"
TRES=$(curl -s "$BASE/api/status" | jq -r '.session_list[] | select(.participant == "t1") | .resource')
frames0=$(grep '^stats' "$OUT/watch.log" | tail -1 | sed -n 's/.*frames_decoded=\([0-9]*\).*/\1/p')

# A connection that never joins (closed with 4081 after 10 s), one that joins and then stays silent
# (closed with 4081 after ws_idle_timeout_s = 5 s); both checked at the end.
printf 'connect\nexpect_close 4081 20000\n' | "$WS" "$IP" 8080 >"$OUT/ws_idle.log" 2>&1 &
IDLE=$!
PIDS+=("$IDLE")
printf 'connect\nsend {"type":"join","class":"net1","token":"%s"}\nexpect "type":"joined"\nexpect_close 4081 20000\n' \
    "$WT" | "$WS" "$IP" 8080 >"$OUT/ws_silent.log" 2>&1 &
SILENT=$!
PIDS+=("$SILENT")

# --- HTTP attempts ---
declare -A EXP # expected refusals per code

N=0
BAD=0
cat >"$OUT/offer.sdp" <<'SDP'
v=0
o=- 1 1 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0
a=ice-ufrag:abcd
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99
a=setup:actpass
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
a=mid:0
a=sendonly
a=rtcp-mux
a=rtpmap:96 H264/90000
a=fmtp:96 packetization-mode=1;profile-level-id=42e01f
SDP
echo '{"id":"evil","kind":"network"}' >"$OUT/class.json"

# attempt CODE METHOD URL AUTH-HEADER-VALUE|"" [BODY CONTENT-TYPE]
attempt() {
    local want=$1 method=$2 url=$3 auth=$4 body=${5:-} ctype=${6:-application/sdp}
    local args=(-s -o "$OUT/resp.json" -w '%{http_code}' -X "$method" -m 5)
    [ -n "$auth" ] && args+=(-H "Authorization: $auth")
    [ -n "$body" ] && args+=(-H "Content-Type: $ctype" --data-binary "@$body")
    local status got
    status=$(curl "${args[@]}" "$url")
    got=$(sed -n 's/.*"code":\([0-9]*\).*/\1/p' "$OUT/resp.json")
    N=$((N + 1))
    EXP[$want]=$((${EXP[$want]:-0} + 1))
    if [ "$got" != "$want" ] || [ "$status" != "${want:0:3}" ]; then
        BAD=$((BAD + 1))
        echo "$method $url -> HTTP $status code ${got:-none} (expected $want)" >>"$OUT/unexpected.txt"
    fi
}
tamper() { local t=$1; local last=${t: -1}; [ "$last" = A ] && echo "${t%?}B" || echo "${t%?}A"; }

# No token (4011).
for i in $(seq 1 10); do attempt 4011 POST "$BASE/whip/net1" "" "$OUT/offer.sdp"; done
for i in $(seq 1 10); do attempt 4011 POST "$BASE/whep/net1" "" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4011 DELETE "$BASE/resource/$TRES" ""; done
for i in $(seq 1 5); do attempt 4011 POST "$BASE/whip/net1" "Basic dDE6cGFzc3dvcmQ=" "$OUT/offer.sdp"; done
# Bad signature, a foreign secret, garbage (4012).
for i in $(seq 1 10); do attempt 4012 POST "$BASE/whip/net1" "Bearer $(tamper "$TT")" "$OUT/offer.sdp"; done
for i in $(seq 1 10); do attempt 4012 POST "$BASE/whep/net1" "Bearer $(tamper "$WT")" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4012 POST "$BASE/whip/net1" "Bearer $FOREIGN" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4012 GET "$LOOP/api/classes" "Bearer $FOREIGN"; done
for i in $(seq 1 5); do attempt 4012 POST "$BASE/whep/net1" "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ." "$OUT/offer.sdp"; done
# Wrong class (4031), not the class's teacher (4037), not the session's owner (4039).
for i in $(seq 1 10); do attempt 4031 POST "$BASE/whep/net1" "Bearer $SYNC_C" "$OUT/offer.sdp"; done
for i in $(seq 1 10); do attempt 4031 POST "$BASE/whip/net1" "Bearer $SYNC_T" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4037 POST "$BASE/whip/sync1" "Bearer ${SYNCT[$((i % 4 + 1))]}" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4039 DELETE "$BASE/resource/$TRES" "Bearer $WT"; done
# A classroom publishing into a network class (4032).
for i in $(seq 1 20); do attempt 4032 POST "$BASE/whip/net1" "Bearer ${NETC[$((i % 4 + 1))]}" "$OUT/offer.sdp"; done
# A second teacher while t1 teaches (4091).
for i in $(seq 1 20); do attempt 4091 POST "$BASE/whip/net1" "Bearer ${NETT[$((i % 4 + 1))]}" "$OUT/offer.sdp"; done
# Admin API without the admin role (4034), or from a non-loopback address (4035).
for tok in "$TT" "$WT" "$OT" "$SYNC_T"; do
    attempt 4034 GET "$LOOP/api/classes" "Bearer $tok"
    attempt 4034 POST "$LOOP/api/classes" "Bearer $tok" "$OUT/class.json" application/json
    attempt 4034 GET "$LOOP/api/classes/net1/participants" "Bearer $tok"
    attempt 4034 POST "$LOOP/api/classes/net1/end" "Bearer $tok"
    attempt 4034 DELETE "$LOOP/api/classes/net1/participants/t1" "Bearer $tok"
done
for i in $(seq 1 5); do attempt 4035 POST "$BASE/api/classes/net1/end" "Bearer $AT"; done
for i in $(seq 1 3); do attempt 4011 GET "$LOOP/api/classes" ""; done

# The real clients, refused before any media: a classroom into the network class, a second teacher.
"$CLIENT" teach --test --token "${NETC[1]}" --width 160 --height 120 \
    "$BASE/whip/net1" >"$OUT/teach_c77.log" 2>"$OUT/teach_c77.err"
rc1=$?
"$CLIENT" teach --test --token "${NETT[1]}" --width 256 --height 144 \
    "$BASE/whip/net1" >"$OUT/teach_t2.log" 2>"$OUT/teach_t2.err"
rc2=$?
N=$((N + 2))
EXP[4032]=$((${EXP[4032]} + 1))
EXP[4091]=$((${EXP[4091]} + 1))
check "the real client of a classroom publishing into a network class is refused 4032 (rc=$rc1)" \
    "$(yes_if "[ $rc1 = 1 ] && grep -q 'code 4032' '$OUT/teach_c77.err'")"
check "the real client of a second teacher is refused 4091 (rc=$rc2)" \
    "$(yes_if "[ $rc2 = 1 ] && grep -q 'code 4091' '$OUT/teach_t2.err'")"

# Expired (4013): the tokens minted at the start with --ttl 1.
while [ "$(date +%s)" -le $((EXPIRING_EPOCH + 1)) ]; do sleep 0.2; done
for i in $(seq 1 10); do attempt 4013 POST "$BASE/whip/net1" "Bearer $EXPIRING_T" "$OUT/offer.sdp"; done
for i in $(seq 1 10); do attempt 4013 POST "$BASE/whep/net1" "Bearer $EXPIRING_C" "$OUT/offer.sdp"; done
for i in $(seq 1 5); do attempt 4013 GET "$LOOP/api/classes" "Bearer $EXPIRING_A"; done
HTTP_N=$N
check "$HTTP_N HTTP attempts refused with the expected status and code ($BAD unexpected)" "$(yes_if "[ $BAD = 0 ]")"
[ -e "$OUT/unexpected.txt" ] && head -5 "$OUT/unexpected.txt"

# --- signaling attempts: one cr-ws-tool script ---
WSN=0
declare -A WSEXP
S="$OUT/ws_script.txt"
: >"$S"
line() { printf '%s\n' "$*" >>"$S"; }
refused() { # CODE: the preceding message must be answered with this error
    line "expect \"type\":\"error\",\"code\":$1"
    WSN=$((WSN + 1))
    WSEXP[$1]=$((${WSEXP[$1]:-0} + 1))
}
# Oversized messages: one frame of 9000 or 100000 bytes, or 20000 bytes in 10 fragments (4132).
for i in 1 2 3 4 5; do line connect; line sendbig 9000; refused 4132; line "expect_close 4132"; done
for i in 1 2 3 4 5; do line connect; line sendfrag 20000 10; refused 4132; line "expect_close 4132"; done
for i in 1 2; do line connect; line sendbig 100000; refused 4132; line "expect_close 4132"; done
# Malformed and invalid messages, at most 7 per connection (the 8th closes it).
for i in 1 2 3 4 5; do
    line connect
    line 'send {"type":'; refused 4004
    line 'send not json at all'; refused 4004
    line 'send [1,2,3]'; refused 4004
    line 'send {"type":"ping","a":{"b":{"c":{"d":{"e":1}}}}}'; refused 4006
    line 'send {"type":"ping","a_key_that_is_much_longer_than_32_bytes":1}'; refused 4006
    line 'sendbin {"type":"ping"}'; refused 4005
    line 'send {"type":"teleport"}'; refused 4005
    line close
done
for i in 1 2 3 4 5; do
    line connect
    line 'send {"type":"stage","participant":"c1"}'; refused 4008
    line 'send {"type":"mute","participant":"c1","audio":true}'; refused 4008
    line 'send {"type":"raise_hand"}'; refused 4008
    line 'send {"type":"join","class":"net1"}'; refused 4011
    line "expect_close 4011"
done
# Bad joins end the connection with the auth code.
for tok in "$(tamper "$WT")" "$FOREIGN" "$SYNC_C" "$EXPIRING_C" "garbage"; do
    for i in 1 2; do
        line connect
        line "send {\"type\":\"join\",\"class\":\"net1\",\"token\":\"$tok\"}"
        case $tok in
        "$SYNC_C") code=4031 ;; "$EXPIRING_C") code=4013 ;; *) code=4012 ;;
        esac
        refused $code
        line "expect_close $code"
    done
done
for i in 1 2 3; do
    line connect
    line "send {\"type\":\"join\",\"class\":\"nosuchclass\",\"token\":\"$ANYC\"}"
    refused 4044
    line "expect_close 4044"
done
# A classroom in the network class asks for what its role may not do (4032).
for i in 1 2 3; do
    line connect
    line "send {\"type\":\"join\",\"class\":\"net1\",\"token\":\"${NETC[$i]}\"}"
    line 'expect "type":"joined"'
    line 'send {"type":"stage","participant":"t1"}'; refused 4032
    line 'send {"type":"mute","participant":"t1","audio":true}'; refused 4032
    line 'send {"type":"raise_hand"}'; refused 4032
    line 'send {"type":"accept_hand","participant":"t1"}'; refused 4032
    line 'send {"type":"end"}'; refused 4032
    line close
done
# Floods: 60 messages at once; the 41st is refused and the connection closed (4291).
for i in 1 2 3; do line connect; line 'flood 60 {"type":"ping"}'; refused 4291; line "expect_close 4291"; done
"$WS" "$IP" 8080 <"$S" >"$OUT/ws_attempts.log" 2>&1
wsrc=$?
wsbad=0
for code in "${!WSEXP[@]}"; do
    got=$(grep -c "\"type\":\"error\",\"code\":$code" "$OUT/ws_attempts.log")
    [ "$got" = "${WSEXP[$code]}" ] || { wsbad=1; echo "signaling code $code: $got refusals, expected ${WSEXP[$code]}"; }
done
check "$WSN signaling attempts refused with the expected error and close codes (tool rc=$wsrc)" \
    "$(yes_if "[ $wsrc = 0 ] && [ $wsbad = 0 ]")"
[ $wsrc = 0 ] || grep FAIL "$OUT/ws_attempts.log" | head -3

# The connection that never joined, and the silent one.
wait "$IDLE" "$SILENT"
check "a connection that never joins is closed with 4081" "$(yes_if "grep -q '^closed 4081' '$OUT/ws_idle.log'")"
check "a joined connection silent for 5 s is closed with 4081" "$(yes_if "grep -q '^closed 4081' '$OUT/ws_silent.log'")"
WSEXP[4081]=$((${WSEXP[4081]:-0} + 2))
WSN=$((WSN + 2))

# --- what the relay counted, and what reached the watcher ---
TOTAL=$((N + WSN))
STATUS=$(curl -s "$BASE/api/status")
echo "$STATUS" >"$OUT/status.json"
countbad=0
for code in $(printf '%s\n' "${!EXP[@]}" "${!WSEXP[@]}" | sort -u); do
    want=$((${EXP[$code]:-0} + ${WSEXP[$code]:-0}))
    got=$(echo "$STATUS" | jq -r ".refusals_by_code[\"$code\"] // 0")
    echo "code $code: $got counted, $want attempted"
    [ "$got" = "$want" ] || countbad=1
done
extra=$(echo "$STATUS" | jq -r --argjson n "$TOTAL" '.refusals - $n')
check "$TOTAL attempts in all (>= 200), each counted under its code (other refusals: $extra)" \
    "$(yes_if "[ $TOTAL -ge 200 ] && [ $countbad = 0 ] && [ '$extra' = 0 ]")"
sizes=$(grep '^video' "$OUT/watch.log" | awk '{print $2}' | sort -u | tr '\n' ' ')
check "the watcher only ever decoded the teacher's 320x240 (sizes: $sizes)" "$(yes_if "[ '$sizes' = '320x240 ' ]")"
frames1=$(grep '^stats' "$OUT/watch.log" | tail -1 | sed -n 's/.*frames_decoded=\([0-9]*\).*/\1/p')
check "the watcher kept decoding through the attempts (${frames0:-0} -> ${frames1:-0} frames)" \
    "$(yes_if "[ $(( ${frames1:-0} - ${frames0:-0} )) -ge 60 ]")"
sessions=$(echo "$STATUS" | jq -r '[.session_list[] | .participant + "/" + .role] | sort | join(" ")')
check "the relay holds only the lesson's sessions ($sessions)" "$(yes_if "[ '$sessions' = 't1/publisher w1/subscriber' ]")"
echo "packets from unknown addresses dropped: $(echo "$STATUS" | jq '[.workers[].drops.unknown_peer] | add')"
check "relay still running" "$(yes_if "kill -0 $RELAY 2>/dev/null")"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
