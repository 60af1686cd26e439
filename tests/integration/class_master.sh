#!/bin/bash
# Integration test of issue 4: a master-teacher class (名师课堂) where a raised hand is accepted and
# the question reaches every classroom.
#
#   tests/integration/class_master.sh BUILD_DIR
#
# In a network namespace (veth 10.99.0.1 / 10.99.0.2) the relay runs [class.mc1] (kind master,
# teacher t1). The teacher publishes (`teach --test`, 320x240) and holds a signaling connection;
# classrooms c1, c2, c3 each join over signaling and receive WHEP ?view=stage (`attend --headless`).
#   1. c1 tries to publish before its hand is accepted: refused with 4036.
#   2. c1 raises its hand; the teacher sees it and sends accept_hand; c1 is told (hand accepted,
#      stage c1) and starts publishing its question (`teach --test`, 160x120).
#   3. Every classroom's stage view (c1, c2, c3) decodes c1's 160x120: the question reaches them all.
#   4. The teacher clears the stage: c1's publishing session is closed by the relay (in a master
#      class the right to publish ends with the question), the stage views show the teacher again.
#   5. The admin API (on loopback): the participant list; kicking c2 closes its session and its
#      signaling connection (kicked, close code 4038); ending the class closes every session, tells
#      the others (class_state ended) and refuses new ones (4092).
# The teacher and the stage views run with --reconnect (a failed negotiation under load is retried).
# Exits 0 if all pass, 1 otherwise, 77 (skip) without the binaries or namespaces.
set -u

if [ -z "${CR_IT_INNER:-}" ]; then
    [ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    BUILD=$(cd "$1" && pwd) || exit 2
    for b in relay/classrelay client/classrelay-client tests/integration/cr-ws-tool; do
        [ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
    done
    unshare -n true 2>/dev/null || { echo "SKIP: cannot create a network namespace (needs root)"; exit 77; }
    OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cr-class-master.XXXXXX")}
    OUT=$OUT/class_master
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
secret = class-master-test-secret-class-master-test
[class.mc1]
kind = master
title = "Physics with a master teacher"
teacher = t1
CONF
token() { "$BUILD/relay/classrelay" token --config "$OUT/relay.conf" --class mc1 "$@"; }
TT=$(token --role teacher --id t1)
AT=$(token --role admin --id admin)
ADMIN=http://127.0.0.1:8080/api/classes
declare -A CT
for c in c1 c2 c3; do CT[$c]=$(token --role classroom --classroom "$c"); done

PASS=0
FAIL=0
check() {
    if [ "$2" = 1 ]; then PASS=$((PASS + 1)); echo "ok    $1"; else FAIL=$((FAIL + 1)); echo "FAIL  $1"; fi
}
yes_if() { if eval "$1"; then echo 1; else echo 0; fi; }
wait_grep() { # FILE PATTERN TENTHS
    for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
wait_file() { for _ in $(seq 1 "$2"); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

"$BUILD/relay/classrelay" --config "$OUT/relay.conf" >"$OUT/relay.log" 2>&1 &
RELAY=$!
PIDS+=("$RELAY")
for _ in $(seq 1 50); do curl -s -o /dev/null "$BASE/" && break; sleep 0.1; done

# The teacher: join, wait for a raised hand, accept it; later clear the stage.
"$WS" "$IP" 8080 >"$OUT/ws_teacher.log" 2>&1 <<EOF &
connect
send {"type":"join","id":1,"class":"mc1","token":"$TT"}
expect "type":"joined"
touch $OUT/go.teacher
expect {"type":"hand","participant":"c1","state":"raised"} 30000
mark accept
send {"type":"accept_hand","id":2,"participant":"c1"}
expect {"type":"ok","id":2}
wait_file $OUT/go.clear 30000
send {"type":"stage","id":3,"participant":null}
expect {"type":"ok","id":3}
sleep 1000
EOF
PIDS+=("$!")
# Classroom c1: join, raise a hand when told, learn it was accepted.
"$WS" "$IP" 8080 >"$OUT/ws_c1.log" 2>&1 <<EOF &
connect
send {"type":"join","class":"mc1","token":"${CT[c1]}"}
expect "type":"joined"
wait_file $OUT/go.hand 30000
send {"type":"raise_hand","id":"h"}
expect {"type":"ok","id":"h"}
expect {"type":"hand","participant":"c1","state":"accepted","by":"t1"} 10000
expect {"type":"stage","participant":"c1","by":"t1"}
expect "may_publish":true
touch $OUT/go.publish
expect {"type":"stage","participant":null 30000
sleep 1000
EOF
PIDS+=("$!")
"$WS" "$IP" 8080 >"$OUT/ws_c2.log" 2>&1 <<EOF &
connect
send {"type":"join","class":"mc1","token":"${CT[c2]}"}
expect "type":"joined"
expect {"type":"stage","participant":"c1" 40000
expect {"type":"kicked","by":"admin"} 40000
expect_close 4038
EOF
PIDS+=("$!")
"$WS" "$IP" 8080 >"$OUT/ws_c3.log" 2>&1 <<EOF &
connect
send {"type":"join","class":"mc1","token":"${CT[c3]}"}
expect "type":"joined"
expect {"type":"stage","participant":"c1" 40000
expect {"type":"participant_left","participant":"c2","reason":"kicked"} 40000
expect {"type":"class_state","class":"mc1","state":"ended","reason":"admin"} 40000
sleep 500
EOF
PIDS+=("$!")
wait_file "$OUT/go.teacher" 50

"$CLIENT" teach --reconnect --test --token "$TT" --width 320 --height 240 --fps 15 --bitrate 300 \
    "$BASE/whip/mc1" >"$OUT/teach_t1.log" 2>&1 &
PIDS+=("$!")
wait_grep "$OUT/teach_t1.log" '^connected' 150
for c in c1 c2 c3; do
    "$CLIENT" attend --reconnect --headless --token "${CT[$c]}" "$BASE/whep/mc1?view=stage" >"$OUT/stage_$c.log" 2>&1 &
    PIDS+=("$!")
done
for c in c1 c2 c3; do wait_grep "$OUT/stage_$c.log" '^video 320x240' 150; done
for c in c1 c2 c3; do
    check "$c's stage view decodes the teacher" "$(yes_if "grep -q '^video 320x240' '$OUT/stage_$c.log'")"
done

# 1. Publishing before an accepted hand is refused.
"$CLIENT" teach --test --token "${CT[c1]}" --width 160 --height 120 --fps 15 "$BASE/whip/mc1" \
    >"$OUT/early.log" 2>"$OUT/early.err"
rc=$?
check "c1 publishing before its hand is accepted is refused (rc=$rc): $(head -1 "$OUT/early.err")" \
    "$(yes_if "[ $rc = 1 ] && grep -q 'code 4036' '$OUT/early.err'")"

# 2. Raise, accept, publish the question.
touch "$OUT/go.hand"
wait_file "$OUT/go.publish" 100
check "c1 raised its hand, the teacher accepted it, c1 was told" "$(yes_if "[ -e '$OUT/go.publish' ]")"
"$CLIENT" teach --test --token "${CT[c1]}" --width 160 --height 120 --fps 15 --bitrate 150 \
    "$BASE/whip/mc1" >"$OUT/teach_c1.log" 2>"$OUT/teach_c1.err" &
Q=$!
PIDS+=("$Q")

# 3. The question reaches every classroom.
for c in c1 c2 c3; do wait_grep "$OUT/stage_$c.log" '^video 160x120' 150; done
T0=$(sed -n 's/^mark accept //p' "$OUT/ws_teacher.log")
for c in c1 c2 c3; do
    t=$(sed -n 's/^video 160x120 unix=//p' "$OUT/stage_$c.log" | head -1)
    lat=$(awk -v a="${T0:-0}" -v b="${t:-0}" 'BEGIN { if (a == 0 || b == 0) print "none"; else printf "%.3f", b - a }')
    check "the question (c1, 160x120) reaches $c (${lat} s after accept_hand, WHIP included)" \
        "$(yes_if "[ '$lat' != none ]")"
done
for c in c2 c3; do
    check "$c's signaling saw c1 go on stage" "$(yes_if "grep -q '\"type\":\"stage\",\"participant\":\"c1\"' '$OUT/ws_$c.log'")"
done

# 4. The teacher clears the stage: c1's session is closed, the teacher is back on every stage view.
sleep 1
touch "$OUT/go.clear"
for c in c2 c3; do
    for _ in $(seq 1 50); do [ "$(grep -c '^video 320x240' "$OUT/stage_$c.log")" -ge 2 ] && break; sleep 0.1; done
    check "$c's stage view shows the teacher again" "$(yes_if "[ \$(grep -c '^video 320x240' '$OUT/stage_$c.log') -ge 2 ]")"
done
sessions=$(curl -s "$BASE/api/status" | jq -r '[.session_list[] | select(.participant == "c1" and .role == "publisher")] | length')
check "c1's publishing session was closed with the question (publisher sessions of c1: $sessions)" \
    "$(yes_if "[ '$sessions' = 0 ]")"
check "relay log names the closed session" "$(yes_if "grep -q \"session .* of class 'mc1' closed\" '$OUT/relay.log'")"

# 5. The admin API.
curl -s -H "Authorization: Bearer $AT" "$ADMIN/mc1/participants" >"$OUT/participants.json"
ids=$(jq -r '[.participants[].id] | sort | join(" ")' "$OUT/participants.json")
c2s=$(jq -r '.participants[] | select(.id == "c2") | "\(.sessions | length)/\(.connections)"' "$OUT/participants.json")
check "admin lists the participants ($ids; c2 sessions/connections $c2s)" "$(yes_if "[ '$ids' = 'c1 c2 c3 t1' ] && [ '$c2s' = '1/1' ]")"
kick=$(curl -s -X DELETE -H "Authorization: Bearer $AT" "$ADMIN/mc1/participants/c2")
check "admin kicks c2: $kick" "$(yes_if "[ '$kick' = '{\"kicked\":\"c2\",\"sessions\":1,\"connections\":1}' ]")"
for _ in $(seq 1 30); do grep -q '^closed 4038' "$OUT/ws_c2.log" && break; sleep 0.1; done
check "c2's signaling was told (kicked) and closed with 4038" \
    "$(yes_if "grep -q '\"type\":\"kicked\"' '$OUT/ws_c2.log' && grep -q '^closed 4038' '$OUT/ws_c2.log'")"
end=$(curl -s -X POST -H "Authorization: Bearer $AT" "$ADMIN/mc1/end" | jq -r .state)
for _ in $(seq 1 30); do grep -q '"state":"ended"' "$OUT/ws_c3.log" && break; sleep 0.1; done
left=$(curl -s "$BASE/api/status" | jq -r '[.session_list[] | select(.class == "mc1")] | length')
check "admin ends the class (state $end): c3 is told, no session of mc1 is left ($left)" \
    "$(yes_if "[ '$end' = ended ] && grep -q '\"state\":\"ended\",\"reason\":\"admin\"' '$OUT/ws_c3.log' && [ '$left' = 0 ]")"
code=$(curl -s -X POST -H "Authorization: Bearer $TT" -H 'Content-Type: application/sdp' --data-binary 'v=0' \
    "$BASE/whip/mc1" | jq -r .error.code)
check "a new WHIP into the ended class is refused ($code)" "$(yes_if "[ '$code' = 4092 ]")"
check "relay still running" "$(yes_if "kill -0 $RELAY 2>/dev/null")"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
