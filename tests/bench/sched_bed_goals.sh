# The scenarios of tests/bench/sched_bed (sourced by it): one function per measured goal of issue 5.
# Each builds its links, starts the relay, publishers, subscribers and monitors, acts on the links at
# measured times, and prints one key=value line. Figures come from sched_bed_analyze.py.

AN() { python3 "$HERE/sched_bed_analyze.py" "$@"; }
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; } # kv "LINE" KEY

# The topology config of a scaled school s1 (SCHOOL Mbit/s) with classrooms c0..c<N-1> (ROOM Mbit/s).
topo_conf() { # topo_conf N SCHOOL ROOM
    echo "[sched]"
    echo "classroom_capacity_mbps = $3"
    echo "school_capacity_mbps = $2"
    echo "floor_kbps = ${FLOOR_KBPS:-300}"
    echo "audio_kbps = ${AUDIO_KBPS:-64}"
    echo "pacing = ${PACING:-true}"
    echo "[school.s1]"
    echo "capacity_mbps = $2"
    local k
    for ((k = 0; k < $1; k++)); do
        printf '[classroom.c%d]\nschool = s1\ncapacity_mbps = %d\n' "$k" "$3"
    done
}

# One classroom (10 Mbit/s) watching the simulcast teacher in M sessions (M x ~2.1 Mbit/s of demand).
one_room() { # one_room NAME SECONDS [M]
    topo 1 100 10
    topo_conf 1 100 10 >"$OUT/$1.extra"
    relay_start "$1" <"$OUT/$1.extra" || return 1
    teacher_start "$OUT/$1.conf" lesson 2000 || return 1
    sleep 3 # the teacher's layers flow and are measured
    linkmon_start "$1" "$(($2 + 3))" 1
    status_start "$1"
    T0=$(now_ms)
    subs_start "$OUT/$1.conf" lesson 0 "${3:-8}" "$2" "$1"
}

# Utilisation with 6, 8 and 10 sessions (12.5, 16.7 and 20.9 Mbit/s of demand on a 10 Mbit/s link):
# layers are discrete, so how well the allocation fills the budget depends on the mix.
goal1() {
    local m w l line=""
    for m in 6 8 10; do
        one_room g1-$m 22 $m || return 1
        sleep 24
        wait "$LM_PID"
        w=$(AN window "$OUT/g1-$m-linkmon.txt" 1 $((T0 + 5000)) $((T0 + 20000)) 10000000)
        l=$(AN relaylat "$OUT/g1-$m-status.jsonl" $((T0 + 5000)) $((T0 + 20000)))
        line+="goal1_util_pct_${m}s=$(kv "$w" util_pct) goal1_loss_pct_${m}s=$(kv "$w" loss_pct)"
        line+=" goal1_link_delay_p99_ms_${m}s=$(kv "$w" delay_p99_ms) goal1_relay_wait_p99_ms_${m}s=$(kv "$l" relay_p99_ms)"
        line+=" goal1_tbf_drops_${m}s=$(tbf_drops crb-school s1) "
        stop_all
    done
    echo "${line}goal1_window=5-20s goal1_link_mbit=10"
}

goal2() {
    one_room g2 42 8 || return 1
    sleep 12
    local td tb f r w
    td=$(now_ms)
    shape crb-school s1 4 10
    sleep 15
    tb=$(now_ms)
    shape crb-school s1 10
    sleep 17
    wait "$LM_PID"
    f=$(AN follow "$OUT/g2-status.jsonl" c0 "$td" 4000000)
    r=$(AN recover "$OUT/g2-linkmon.txt" 1 "$td" "$tb")
    w=$(AN window "$OUT/g2-linkmon.txt" 1 "$td" "$tb" 4000000)
    echo "goal2_follow_s=$(kv "$f" follow_s) goal2_recover_s=$(kv "$r" recover_s)" \
        "goal2_before_mbps=$(kv "$r" before_mbps) goal2_during_mbps=$(kv "$r" during_mbps)" \
        "goal2_loss_pct_during=$(kv "$w" loss_pct) goal2_drop_to=40%"
}

# N classrooms of school s1 each watching class CLASS in M sessions.
rooms_subs() { # rooms_subs CONF CLASS FROM TO M SECONDS NAME
    local k
    for ((k = $3; k < $4; k++)); do subs_start "$1" "$2" "$k" "$5" "$6" "$7"; done
}

goal3() {
    topo 4 100 10
    topo_conf 4 100 10 >"$OUT/g3.extra"
    relay_start g3 <"$OUT/g3.extra" || return 1
    teacher_start "$OUT/g3.conf" lesson 2000 || return 1
    sleep 3
    linkmon_start g3 32 4
    status_start g3
    rooms_subs "$OUT/g3.conf" lesson 0 4 4 28 g3
    sleep 12
    local tc k w
    tc=$(now_ms)
    # Every classroom link to 50 % at once, and every classroom asks for a keyframe (a new session).
    for ((k = 0; k < 4; k++)); do shape crb-school s$((k + 1)) 5 10; done
    for ((k = 0; k < 4; k++)); do subs_start "$OUT/g3.conf" lesson "$k" 1 8 g3kf; done
    sleep 18
    wait "$LM_PID"
    w=$(AN window "$OUT/g3-linkmon.txt" 1 $((tc - 2000)) $((tc + 12000)) 5000000)
    local drops=0
    for ((k = 0; k < 4; k++)); do drops=$((drops + $(tbf_drops crb-school s$((k + 1))))); done
    echo "goal3_audio_lost=$(kv "$w" audio_lost) goal3_audio_rx=$(kv "$w" audio_rx)" \
        "goal3_video_lost=$(kv "$w" video_lost) goal3_video_rx=$(kv "$w" video_rx)" \
        "goal3_classroom_tbf_drops=$drops goal3_rooms=4 goal3_cut_to=50% goal3_window=-2..+12s"
}

goal4() {
    # (a) four equal classrooms of one class on a 20 Mbit/s school link (demand ~33 Mbit/s).
    topo 4 20 10
    topo_conf 4 20 10 >"$OUT/g4a.extra"
    relay_start g4a <"$OUT/g4a.extra" || return 1
    teacher_start "$OUT/g4a.conf" lesson 2000 || return 1
    sleep 3
    linkmon_start g4a 24 4
    status_start g4a
    T0=$(now_ms)
    rooms_subs "$OUT/g4a.conf" lesson 0 4 4 20 g4a
    sleep 23
    wait "$LM_PID"
    local a j rates
    a=$(AN alloc "$OUT/g4a-status.jsonl" $((T0 + 6000)) $((T0 + 20000)))
    rates=$(for k in 1 2 3 4; do AN window "$OUT/g4a-linkmon.txt" $k $((T0 + 6000)) $((T0 + 20000)) 1 |
        sed -n 's/.*mbps=\([^ ]*\).*/\1/p'; done | tr '\n' ' ')
    j=$(python3 -c 'import sys
a=[float(x) for x in sys.argv[1].split()]
b=[float(x) for x in sys.argv[2].split()]
jain=lambda v: sum(v)**2/(len(v)*sum(x*x for x in v)) if v and sum(v) else 0
print("%.4f %.4f" % (jain(a), jain(b)))' "$(for k in 0 1 2 3; do kv "$a" c${k}_alloc; done | tr '\n' ' ')" "$rates")
    stop_all
    # (b) a dedicated class (weight 3) and a network class (weight 1) sharing a 10 Mbit/s school link.
    topo 2 10 10
    { topo_conf 2 10 10; printf '[class.ded]\nkind = dedicated\n[class.net]\nkind = network\n'; } >"$OUT/g4b.extra"
    relay_start g4b <"$OUT/g4b.extra" || return 1
    teacher_start "$OUT/g4b.conf" ded 2000 || return 1
    teacher_start "$OUT/g4b.conf" net 2000 || return 1
    sleep 4
    status_start g4b
    T0=$(now_ms)
    subs_start "$OUT/g4b.conf" ded 0 6 20 g4b
    subs_start "$OUT/g4b.conf" net 1 6 20 g4b
    sleep 22
    local b f
    b=$(AN alloc "$OUT/g4b-status.jsonl" $((T0 + 8000)) $((T0 + 20000)))
    f=$(AN floors "$OUT/g4b-status.jsonl" $((T0 + 8000)) $((T0 + 20000)))
    local ratio
    ratio=$(awk -v ad="$(kv "$b" c0_alloc)" -v fd="$(kv "$b" c0_floor)" -v an="$(kv "$b" c1_alloc)" \
        -v fn="$(kv "$b" c1_floor)" 'BEGIN { if (an - fn > 0) printf "%.2f", (ad - fd) / (an - fn); else print "inf" }')
    echo "goal4_jain_alloc=${j% *} goal4_jain_delivered=${j#* } goal4_alloc_mbps=$(for k in 0 1 2 3; do
        awk -v v="$(kv "$a" c${k}_alloc)" 'BEGIN{printf "%.2f", v/1e6}'; [ $k = 3 ] || printf ','; done)" \
        "goal4_weight_ratio=$ratio goal4_weight_expected=3.00" \
        "goal4_dedicated_mbps=$(awk -v v="$(kv "$b" c0_alloc)" 'BEGIN{printf "%.2f", v/1e6}')" \
        "goal4_network_mbps=$(awk -v v="$(kv "$b" c1_alloc)" 'BEGIN{printf "%.2f", v/1e6}')" \
        "goal4_floors_mbps=$(awk -v a="$(kv "$b" c0_floor)" -v b="$(kv "$b" c1_floor)" 'BEGIN{printf "%.2f,%.2f", a/1e6, b/1e6}')" \
        "goal4_below_floor=$(kv "$f" below_floor) goal4_subscribers=$(kv "$f" subscribers)"
}

# 30 classrooms, one session each, of the synthetic 720p stream (an IDR every 2 s).
burst_run() { # burst_run NAME PACING
    topo 30 100 10
    PACING=$2 topo_conf 30 100 10 >"$OUT/$1.extra"
    relay_start "$1" <"$OUT/$1.extra" || return 1
    local tok
    tok=$(token "$OUT/$1.conf" teacher lesson t1)
    ip netns exec crb-relay "$SYNTHPUB" --url "http://$RIP:8080/whip/lesson" --video "${MEDIA[0]}" \
        --audio "${MEDIA[1]}" --token "$tok" >"$OUT/$1-pub.out" 2>"$OUT/$1-pub.err" &
    PIDS+=($!)
    sleep 2
    rooms_subs "$OUT/$1.conf" lesson 0 30 1 24 "$1"
    sleep 6
    "$LINKMON" --tx crb-relay:r0 --seconds 16 --out "$OUT/$1-linkmon.txt" >"$OUT/$1-linkmon.kv" 2>&1
    local k cd=0
    for ((k = 0; k < 30; k++)); do cd=$((cd + $(tbf_drops crb-school s$((k + 1))))); done
    BURST="peak_mbps=$(sed -n 's/.*point0_peak10ms_mbps=\([^ ]*\).*/\1/p' "$OUT/$1-linkmon.kv")"
    BURST+=" mean_mbps=$(sed -n 's/.*point0_mbps=\([^ ]*\).*/\1/p' "$OUT/$1-linkmon.kv")"
    BURST+=" school_drops=$(tbf_drops crb-wan w1) classroom_drops=$cd"
}

goal5() {
    [ -x "$SYNTHPUB" ] || { log "cr_synthpub not built"; return 77; }
    mapfile -t MEDIA < <("$HERE/gen_media.sh" "$HERE/cache" --width 1280 --height 720 --kbps 1500)
    [ "${#MEDIA[@]}" = 2 ] || { log "gen_media.sh failed"; return 77; }
    burst_run g5 true || return 1
    local on=$BURST
    stop_all
    burst_run g5n false || return 1
    local off=$BURST
    echo "goal5_peak_ratio=$(awk -v p="$(kv "$on" peak_mbps)" 'BEGIN{printf "%.3f", p/90}')" \
        "goal5_peak10ms_mbps=$(kv "$on" peak_mbps) goal5_budget_mbps=90 goal5_mean_mbps=$(kv "$on" mean_mbps)" \
        "goal5_tbf_drops=$(kv "$on" school_drops) goal5_classroom_tbf_drops=$(kv "$on" classroom_drops)" \
        "goal5_nopace_peak_ratio=$(awk -v p="$(kv "$off" peak_mbps)" 'BEGIN{printf "%.3f", p/90}')" \
        "goal5_nopace_tbf_drops=$(kv "$off" school_drops) goal5_nopace_classroom_tbf_drops=$(kv "$off" classroom_drops)" \
        "goal5_rooms=30 goal5_stream=720p30-1500k-idr2s"
}

goal6() {
    # School s1 (2 Mbit/s, budget 1.8) with six classrooms; class 'sci' (dedicated) invites c0-c2 and
    # class 'art' (network) c3-c5, both all day. Each classroom needs 90 kbit/s of audio plus the
    # teacher camera's floor of 280 kbit/s (the teacher's layers: ~2000, 830 and 310 kbit/s): 2.2
    # Mbit/s for all six. Admission: sci first (dedicated), then art gets one classroom of three.
    topo 6 2 10
    { FLOOR_KBPS=280 AUDIO_KBPS=90 topo_conf 6 2 10
      printf '[class.sci]\nkind = dedicated\nclassrooms = c0, c1, c2\n[class.art]\nkind = network\nclassrooms = c3, c4, c5\n'
    } >"$OUT/g6.extra"
    relay_start g6 <"$OUT/g6.extra" || return 1
    local adm
    adm=$(nsx crb-relay curl -s "http://$RIP:8080/api/status" | python3 -c 'import json,sys
for a in json.load(sys.stdin)["scheduler"]["admission"]:
    print("%s %s %s" % (a["class"], a["status"], a["reason"].replace(" ", "_")))')
    teacher_start "$OUT/g6.conf" sci 2000 || return 1
    teacher_start "$OUT/g6.conf" art 2000 || return 1
    sleep 4
    status_start g6
    T0=$(now_ms)
    local k
    for k in 0 1 2; do subs_start "$OUT/g6.conf" sci $k 1 20 g6; done
    for k in 3 4 5; do subs_start "$OUT/g6.conf" art $k 1 20 g6; done
    sleep 22
    local f n5034 sci art
    f=$(AN floors "$OUT/g6-status.jsonl" $((T0 + 6000)) $((T0 + 20000)))
    n5034=$(nsx crb-relay curl -s "http://$RIP:8080/api/status" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["refusals_by_code"].get("5034", 0))')
    sci=$(grep '^sci ' <<<"$adm") art=$(grep '^art ' <<<"$adm")
    echo "goal6_sci=$(cut -d' ' -f2 <<<"$sci") goal6_art=$(cut -d' ' -f2 <<<"$art")" \
        "goal6_reason=$(cut -d' ' -f3- <<<"$art")" \
        "goal6_join_refusals_5034=$n5034 goal6_join_refusal=$(grep -o 'refused (5034)[^{]*' "$OUT/g6-relay.log" |
            head -1 | sed 's/ /_/g')" \
        "goal6_admitted_subscribers=$(kv "$f" subscribers) goal6_below_floor=$(kv "$f" below_floor)"
}
