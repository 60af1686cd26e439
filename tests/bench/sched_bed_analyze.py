#!/usr/bin/env python3
"""Figures of tests/bench/sched_bed from cr_linkmon's series and the polled /api/status.

  sched_bed_analyze.py window SERIES POINT FROM_MS TO_MS CAP_BPS   utilisation, loss, delay
  sched_bed_analyze.py reach SERIES POINT T_MS RATE_BPS            s until the 500 ms rate >= RATE
  sched_bed_analyze.py follow SERIES POINT T_CUT T_BACK LIMIT_BPS  s until the 500 ms rate is (stays) <= LIMIT
  sched_bed_analyze.py follow_alloc STATUS CLASSROOM T_MS LIMIT    s until the scheduler's allocation <= LIMIT
  sched_bed_analyze.py alloc STATUS FROM_MS TO_MS                  mean allocation per classroom, Jain's index
  sched_bed_analyze.py floors STATUS FROM_MS TO_MS                 subscribers below their floor (scheduler)
  sched_bed_analyze.py peak SERIES POINT FROM_MS TO_MS             10 ms peak rate (bps) of a point
  sched_bed_analyze.py jain X...                                   Jain's index of the numbers

SERIES: cr_linkmon's --out: t_ms, bytes per point (10 ms), audio, video, audio_lost, video_lost,
link_lost, delay histogram (two buckets per octave of microseconds); audio, video and the losses are
summed over the rx points, so a window's loss figures are the whole bed's. STATUS: the bed's polls of
GET /api/status ({"t": ms, "scheduler": ...}). Prints key=value.
"""
import json
import re
import sys

DBUCKETS = 170  # cr_linkmon's delay histogram: [0, 1 us), then eight buckets per octave


def dedge(b):
    return 0.0 if b == 0 else 2.0 ** ((b - 1) / 8.0)


def load_series(path):
    rows, names = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                names = line[1:].split()[1:]
                continue
            rows.append([int(x) for x in line.split()])
    n_points = sum(1 for n in names if n.startswith(("tx:", "rx:", "in:")))
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
                s = json.loads(line)
            except ValueError:
                continue
            if s.get("scheduler"):
                out.append(s)
    return out


def links_of(snap):
    return snap["scheduler"].get("links", [])


def link_of(snap, room):
    for l in links_of(snap):
        if l.get("classroom") == room:
            return l
    return None


def cmd_follow_alloc(a):
    st = load_status(a[0])
    room, t, limit = a[1], int(a[2]), float(a[3])
    for s in st:
        l = link_of(s, room)
        at = l.get("at_ms", s["t"]) if l is not None else s["t"]  # the worker's own time, if given
        if at >= t and l is not None and l.get("alloc_bps", 1e18) <= limit:
            print("follow_s=%.2f alloc_bps=%d estimate_bps=%d" % ((at - t) / 1000.0, l["alloc_bps"],
                                                                  l.get("estimate_bps", -1)))
            return
    print("follow_s=-1")


def rate_series(rows, point, width):
    """(t_ms at the end of the window, bps) over a moving window of width bins (10 ms each)."""
    out, acc = [], 0
    for i, r in enumerate(rows):
        acc += r[1 + point]
        if i >= width:
            acc -= rows[i - width][1 + point]
        if i >= width - 1:
            out.append((r[0] + 10, acc * 8 / (width * 0.01)))
    return out


def cmd_reach(a):
    rows, _ = load_series(a[0])
    point, t, rate = int(a[1]), int(a[2]), float(a[3])
    for te, b in rate_series(rows, point, 50):  # 500 ms windows from T on
        if te >= t + 500 and b >= rate:
            print("reach_s=%.2f" % ((te - t) / 1000.0))
            return
    print("reach_s=-1")


def cmd_follow(a):
    rows, _ = load_series(a[0])
    point, t_cut, t_back, limit = int(a[1]), int(a[2]), int(a[3]), float(a[4])
    rs = [(te, b) for te, b in rate_series(rows, point, 50) if te >= t_cut + 500 and te <= t_back]
    during = [b for te, b in rs if te >= t_cut + 2000]
    off = "%.3f" % (sum(during) / len(during) / 1e6) if during else "-1"
    # follow: the first 500 ms window at or below the limit; settle: from then on, every window
    # (a probe above the budget, or a burst of retransmissions, breaks it); over_pct: windows above.
    follow = settle = -1.0
    for i, (te, b) in enumerate(rs):
        if follow < 0 and b <= limit:
            follow = (te - 500 - t_cut) / 1000.0
        if all(x <= limit for _, x in rs[i:]):
            settle = (te - 500 - t_cut) / 1000.0
            break
    over = [b for te, b in rs if te >= t_cut + 2000 and b > limit]
    print("follow_s=%.2f settle_s=%.2f over_pct=%.1f offered_mbps=%s" % (
        follow, settle, 100.0 * len(over) / len(during) if during else -1, off))


def jain(v):
    return sum(v) ** 2 / (len(v) * sum(x * x for x in v)) if v and sum(v) else 0.0


def cmd_jain(a):
    print("%.4f" % jain([float(x) for x in a]))


def cmd_alloc(a):
    st = load_status(a[0])
    t0, t1 = int(a[1]), int(a[2])
    sums, n = {}, 0
    for s in st:
        if not t0 <= s["t"] < t1:
            continue
        n += 1
        for l in links_of(s):
            if l.get("classroom"):
                v = sums.setdefault(l["classroom"], [0, 0])
                v[0] += l.get("alloc_bps", 0)
                v[1] += l.get("floor_bps", 0)
    if not n:
        print("alloc=none jain=-1")
        return
    print(" ".join("%s_alloc=%d %s_floor=%d" % (k, v[0] / n, k, v[1] / n) for k, v in sorted(sums.items())) +
          " jain=%.4f" % jain([v[0] / n for v in sums.values()]))


def cmd_floors(a):
    st = load_status(a[0])
    t0, t1 = int(a[1]), int(a[2])
    below, seen = set(), set()
    for s in st:
        if not t0 <= s["t"] < t1:
            continue
        for x in s["scheduler"].get("subscribers", []):
            seen.add(x.get("resource"))
            # below its floor: "off: capped by ..." or "layer N: capped by ..."
            if re.match(r"^(off|layer \d+): capped by", x.get("why", "")):
                below.add(x.get("resource"))
    if not seen:
        print("subscribers=0 below_floor=-1")
        return
    print("subscribers=%d below_floor=%d" % (len(seen), len(below)))


def cmd_peak(a):
    rows, _ = load_series(a[0])
    point, t0, t1 = int(a[1]), int(a[2]), int(a[3])
    peak = max([r[1 + point] for r in rows if t0 <= r[0] < t1] or [0])
    print("peak10_bps=%d" % (peak * 8 / 0.01))


if __name__ == "__main__":
    {"window": cmd_window, "reach": cmd_reach, "follow": cmd_follow, "follow_alloc": cmd_follow_alloc,
     "alloc": cmd_alloc, "floors": cmd_floors, "peak": cmd_peak, "jain": cmd_jain}[sys.argv[1]](sys.argv[2:])
