#!/usr/bin/env python3
"""Figures of tests/bench/sched_bed from cr_linkmon's series and the polled /api/status.

  sched_bed_analyze.py window SERIES POINT FROM_MS TO_MS CAP_BPS    utilisation, loss, delay
  sched_bed_analyze.py follow STATUS CLASSROOM T_MS LIMIT_BPS       s until the allocation <= limit
  sched_bed_analyze.py recover SERIES POINT T_DROP T_BACK           s until the rate is back at 90 %
  sched_bed_analyze.py alloc STATUS FROM_MS TO_MS [CLASSROOM...]    mean allocation per classroom
  sched_bed_analyze.py floors STATUS FROM_MS TO_MS                  subscribers below their floor
  sched_bed_analyze.py peak SERIES POINT FROM_MS TO_MS              10 ms peak rate (bps) of a point
  sched_bed_analyze.py relaylat STATUS FROM_MS TO_MS                relay-added latency in the window

SERIES lines: t_ms, bytes per point (10 ms), audio, video, audio_lost, video_lost, link_lost, delay histogram
(two buckets per octave of microseconds). Prints key=value.
"""
import json
import re
import sys

DBUCKETS = 40


def dedge(b):
    base = float(1 << (b // 2))
    return base * 1.5 if b % 2 else base


def load_series(path):
    rows, names = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                names = line[1:].split()[1:]
                continue
            rows.append([int(x) for x in line.split()])
    n_points = sum(1 for n in names if n.startswith(("tx:", "rx:")))
    return rows, n_points


def window(rows, n_points, point, t0, t1):
    sel = [r for r in rows if t0 <= r[0] < t1]
    byts = sum(r[1 + point] for r in sel)
    base = 1 + n_points
    audio = sum(r[base] for r in sel)
    video = sum(r[base + 1] for r in sel)
    alost = sum(r[base + 2] for r in sel)
    vlost = sum(r[base + 3] for r in sel)
    llost = sum(r[base + 4] for r in sel)
    hist = [0] * DBUCKETS
    for r in sel:
        for b in range(DBUCKETS):
            hist[b] += r[base + 5 + b]
    return byts, audio, video, alost, vlost, hist, llost


def pct(hist, q):
    total = sum(hist)
    if total == 0:
        return 0.0
    rank, seen = int(total * q), 0
    for b, c in enumerate(hist):
        seen += c
        if seen > rank:
            return dedge(min(b + 1, DBUCKETS - 1)) / 1000.0
    return 0.0


def cmd_window(a):
    rows, n = load_series(a[0])
    point, t0, t1, cap = int(a[1]), int(a[2]), int(a[3]), float(a[4])
    byts, audio, video, alost, vlost, hist, llost = window(rows, n, point, t0, t1)
    secs = (t1 - t0) / 1000.0
    sent = audio + video + alost + vlost
    print("util_pct=%.1f mbps=%.3f loss_pct=%.3f link_loss_pct=%.3f audio_lost=%d video_lost=%d link_lost=%d "
          "audio_rx=%d video_rx=%d delay_p50_ms=%.2f delay_p99_ms=%.2f" % (
              100.0 * byts * 8 / secs / cap, byts * 8 / secs / 1e6, 100.0 * (alost + vlost) / sent if sent else 0,
              100.0 * llost / (audio + video + llost) if audio + video else 0, alost, vlost, llost, audio, video,
              pct(hist, 0.5), pct(hist, 0.99)))


def load_status(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def link_of(snap, room):
    for l in snap["links"]:
        if l["classroom"] == room:
            return l
    return None


def cmd_follow(a):
    st = load_status(a[0])
    room, t, limit = a[1], int(a[2]), float(a[3])
    for s in st:
        l = link_of(s, room)
        at = l.get("at_ms", s["t"]) if l is not None else s["t"]  # the worker's own time of the figures
        if at >= t and l is not None and l["alloc_bps"] <= limit:
            print("follow_s=%.2f alloc_bps=%d estimate_bps=%d" % ((at - t) / 1000.0, l["alloc_bps"], l["estimate_bps"]))
            return
    print("follow_s=-1")


def rate_series(rows, point, width=50):
    """(t_ms, bps) over a moving window of width bins (10 ms each)."""
    out, acc = [], 0
    for i, r in enumerate(rows):
        acc += r[1 + point]
        if i >= width:
            acc -= rows[i - width][1 + point]
        if i >= width - 1:
            out.append((r[0], acc * 8 / (width * 0.01)))
    return out


def cmd_recover(a):
    rows, _ = load_series(a[0])
    point, t_drop, t_back = int(a[1]), int(a[2]), int(a[3])
    rs = rate_series(rows, point, 100)
    before = [b for t, b in rs if t_drop - 5000 <= t < t_drop]
    ref = sum(before) / len(before) if before else 0
    low = [b for t, b in rs if t_drop + 2000 <= t < t_back]
    for t, b in rs:
        if t >= t_back and b >= 0.9 * ref:
            print("recover_s=%.2f before_mbps=%.3f during_mbps=%.3f" % ((t - t_back) / 1000.0, ref / 1e6,
                                                                        (sum(low) / len(low) if low else 0) / 1e6))
            return
    print("recover_s=-1 before_mbps=%.3f during_mbps=%.3f" % (ref / 1e6, (sum(low) / len(low) if low else 0) / 1e6))


def cmd_alloc(a):
    st = load_status(a[0])
    t0, t1, rooms = int(a[1]), int(a[2]), a[3:]
    sums, n = {}, 0
    for s in st:
        if not t0 <= s["t"] < t1:
            continue
        n += 1
        for l in s["links"]:
            if l["classroom"] and (not rooms or l["classroom"] in rooms):
                v = sums.setdefault(l["classroom"], [0, 0, 0])
                v[0] += l["alloc_bps"]
                v[1] += l.get("floor_bps", 0)
                v[2] += l["sent_bps"]
    print(" ".join("%s_alloc=%d %s_floor=%d %s_sent=%d" % (k, v[0] / n, k, v[1] / n, k, v[2] / n)
                   for k, v in sorted(sums.items())) if n else "alloc=none")


def cmd_floors(a):
    st = load_status(a[0])
    t0, t1 = int(a[1]), int(a[2])
    below, seen = set(), set()
    for s in st:
        if not t0 <= s["t"] < t1:
            continue
        for x in s["subscribers"]:
            seen.add(x["resource"])
            # below its floor: "off: capped by ..." or "layer N: capped by ..." (at the floor with an
            # upgrade capped reads "layer N: floor (capped by ...)")
            if re.match(r"^(off|layer \d+): capped by", x["why"]):
                below.add(x["resource"])
    print("subscribers=%d below_floor=%d" % (len(seen), len(below)))


def cmd_peak(a):
    rows, _ = load_series(a[0])
    point, t0, t1 = int(a[1]), int(a[2]), int(a[3])
    peak = max([r[1 + point] for r in rows if t0 <= r[0] < t1] or [0])
    print("peak10_bps=%d" % (peak * 8 / 0.01))


def lat_floor(b):
    """Lower edge (us) of a bucket of the worker's latency histogram (cr_worker.c)."""
    if b < 16:
        return b
    e, sub = (b - 16) // 4 + 4, (b - 16) % 4
    return (4 + sub) << (e - 2)


def cmd_relaylat(a):
    st = [s for s in load_status(a[0]) if s.get("lat")]
    t0, t1 = int(a[1]), int(a[2])
    first = next((s for s in st if s["t"] >= t0), None)
    last = next((s for s in reversed(st) if s["t"] < t1), None)
    if first is None or last is None:
        print("relay_p50_ms=-1 relay_p99_ms=-1")
        return
    h = [sum(x) for x in zip(*last["lat"])]
    h0 = [sum(x) for x in zip(*first["lat"])]
    d = [x - y for x, y in zip(h, h0)]
    total = sum(d)

    def p(q):
        rank, seen = int(total * q), 0
        for b, c in enumerate(d):
            seen += c
            if seen > rank:
                return lat_floor(min(b + 1, len(d) - 1)) / 1000.0
        return 0.0
    print("relay_p50_ms=%.3f relay_p99_ms=%.3f relay_samples=%d" % (p(0.5), p(0.99), total))


if __name__ == "__main__":
    {"window": cmd_window, "follow": cmd_follow, "recover": cmd_recover, "alloc": cmd_alloc,
     "floors": cmd_floors, "peak": cmd_peak, "relaylat": cmd_relaylat}[sys.argv[1]](sys.argv[2:])
