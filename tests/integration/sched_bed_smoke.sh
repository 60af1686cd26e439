#!/bin/bash
# Integration test of issue 5 on real links: the short version of the scheduler's test bed.
#
#   tests/integration/sched_bed_smoke.sh BUILD_DIR
#
# Runs `tests/bench/sched_bed --goals smoke`: the relay in its own network namespace, one classroom
# behind a 5 Mbit/s tbf link (school 100 Mbit/s), the simulcast teacher (classrelay-client teach
# --test --simulcast, ~2.1 Mbit/s per session) watched in 4 sessions (~8.4 Mbit/s of demand) for
# 12 s, cr_linkmon on the links. Checks, over 4-12 s after the subscribers start:
#   - the link is in use: media on the wire >= 60 % of its capacity (the full bed's goal is 90 %);
#   - audio arrives and none is lost (after retransmissions);
#   - video loss <= 5 % (goal: 0.5 %), p99 delay through the links <= 100 ms (goal: 30 ms).
# The thresholds are lenient so that a loaded machine does not fail it; the figures are printed.
# A relay that does not report a scheduler in GET /api/status (the scheduler not in its packet path)
# cannot meet the last two checks: then only the first is checked and the test is skipped (77) after
# printing the figures. Exit 77 also when not root, without `ip netns`, tc or a needed binary.
# Run it under the machine's CPU lock: flock /tmp/classrelay-cpu.lock meson test -C build sched_bed_smoke
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
skip() {
    echo "SKIP: $1"
    exit 77
}
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || skip "no 'ip netns'"
command -v tc >/dev/null || skip "tc is missing"
for b in relay/classrelay client/classrelay-client tests/bench/cr_loadgen tests/tools/cr_linkmon; do
    [ -x "$BUILD/$b" ] || skip "$BUILD/$b is not built"
done
OUT=${CR_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/crbed-smoke.XXXXXX")}
"$HERE/../bench/sched_bed" --goals smoke --build "$BUILD" --out "$OUT" >"$OUT/smoke.kv" 2>"$OUT/smoke.log"
rc=$?
cat "$OUT/smoke.kv"
[ $rc = 77 ] && skip "the bed could not run: $(tail -2 "$OUT/smoke.log")"
LINE=$(grep '^smoke_' "$OUT/smoke.kv" | tail -1)
[ $rc = 0 ] && [ -n "$LINE" ] || { echo "FAIL: the bed did not run (logs in $OUT):"; tail -5 "$OUT/smoke.log"; exit 1; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$LINE"; }
pass=0 fail=0
check() { # check NAME AWK-CONDITION VALUE
    if awk -v v="$3" "BEGIN { exit !($2) }"; then
        echo "ok: $1 ($3)"; pass=$((pass + 1))
    else
        echo "FAIL: $1 ($3)"; fail=$((fail + 1))
    fi
}
check "link in use: util_pct >= 60" 'v != "" && v >= 60' "$(kv smoke_util_pct)"
check "audio arrives: audio_rx > 100" 'v != "" && v > 100' "$(kv smoke_audio_rx)"
if [ "$(kv smoke_scheduler)" != yes ]; then
    echo "$pass passed, $fail failed"
    [ $fail = 0 ] || exit 1
    skip "the relay reports no scheduler (GET /api/status): loss, audio and delay are not checked (logs in $OUT)"
fi
check "no audio lost" 'v != "" && v == 0' "$(kv smoke_audio_lost)"
check "loss_pct <= 5" 'v != "" && v <= 5' "$(kv smoke_loss_pct)"
check "delay_p99_ms <= 100" 'v != "" && v <= 100' "$(kv smoke_delay_p99_ms)"
echo "$pass passed, $fail failed (logs in $OUT)"
[ $fail = 0 ]
