/*
 * The pacer: band priority, audio that never waits or drops, video that waited too long dropped,
 * bounded queues with eviction, probes, and a keyframe copied to 30 classrooms of one school spread
 * at the school's budget (issue 5, goal 5: the 10 ms peak <= 1.05 x budget).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "cr_err.h"
#include "cr_pacer.h"

#define MS 1000ull

static void setup(cr_topo_t *t, cr_pacer_t *pc, unsigned rooms, uint64_t school_bps, uint64_t room_bps,
                  const cr_pacer_params_t *pp)
{
    assert_int_equal(cr_topo_init(t, NULL, NULL), 0);
    cr_topo_add_school(t, "xian-1", school_bps, 0.9, 0);
    char name[16];
    for (unsigned i = 0; i < rooms; i++) {
        snprintf(name, sizeof(name), "r%u", i);
        assert_int_equal(cr_topo_add_room(t, 0, name, room_bps, 0.9, 0), (int)i);
        /* the budgets are what the allocator would leave: capacity x target */
        cr_topo_room(t, i)->link.budget_bps = (uint64_t)(room_bps * 0.9);
    }
    cr_topo_school(t, 0)->link.budget_bps = (uint64_t)(school_bps * 0.9);
    assert_int_equal(cr_pacer_init(pc, t, pp), 0);
}

static void test_bands(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_pacer_t pc;
    setup(&t, &pc, 1, 1000000000, 100000000, NULL);
    cr_pacer_out_t ev, out[16];
    for (int b = CR_BAND_COUNT - 1; b >= 0; b--)
        assert_int_equal(cr_pacer_enqueue(&pc, 0, (enum cr_band)b, (uint32_t)b, 200, 0, &ev), 0);
    assert_int_equal(cr_pacer_next_us(&pc), 0);
    int n = cr_pacer_dequeue(&pc, 0, out, 16);
    assert_int_equal(n, CR_BAND_COUNT);
    for (int i = 0; i < n; i++) {
        assert_int_equal(out[i].band, i); /* audio, RTCP, retransmission, keyframe, delta, padding */
        assert_int_equal(out[i].handle, (uint32_t)i);
        assert_int_equal(out[i].dropped, 0);
    }
    assert_int_equal(cr_pacer_next_us(&pc), UINT64_MAX);
    assert_int_equal(cr_pacer_enqueue(&pc, 5, CR_BAND_AUDIO, 0, 100, 0, &ev), CR_EINVAL);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, (enum cr_band)9, 0, 100, 0, &ev), CR_EINVAL);
    assert_int_equal(t.rooms[0].link.sent_packets, CR_BAND_COUNT);
    assert_int_equal(t.schools[0].link.sent_bytes, CR_BAND_COUNT * 200);
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

static void test_audio_never_waits(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_pacer_t pc;
    setup(&t, &pc, 1, 1000000000, 100000000, NULL);
    /* a classroom link with no budget at all: audio and RTCP still go, video waits, then drops */
    t.rooms[0].link.budget_bps = 0;
    cr_pacer_out_t out[8];
    int n = 0;
    cr_pacer_dequeue(&pc, 0, out, 8); /* start the buckets */
    for (int i = 0; i < 10; i++) /* empty the bucket's start depth */
        cr_pacer_enqueue(&pc, 0, CR_BAND_DELTA, 100 + (uint32_t)i, 1200, 0, NULL);
    n = cr_pacer_dequeue(&pc, 0, out, 8);
    while (n > 0)
        n = cr_pacer_dequeue(&pc, 0, out, 8);
    cr_pacer_enqueue(&pc, 0, CR_BAND_KEY, 1, 1200, 10 * MS, NULL);
    cr_pacer_enqueue(&pc, 0, CR_BAND_AUDIO, 2, 160, 10 * MS, out);
    cr_pacer_enqueue(&pc, 0, CR_BAND_RTCP, 3, 80, 10 * MS, out);
    n = cr_pacer_dequeue(&pc, 10 * MS, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].handle, 2);
    assert_int_equal(out[1].handle, 3);
    assert_int_equal(cr_pacer_dequeue(&pc, 100 * MS, out, 8), 0);
    assert_true(cr_pacer_next_us(&pc) > 100 * MS);
    /* everything video waited over 200 ms: the keyframe packet and the 8 delta packets drop */
    cr_pacer_out_t all[16];
    n = cr_pacer_dequeue(&pc, 211 * MS, all, 16);
    assert_int_equal(n, 9);
    assert_int_equal(all[0].handle, 1); /* the keyframe's band is higher */
    for (int i = 0; i < n; i++)
        assert_int_equal(all[i].dropped, 1);
    assert_int_equal(pc.stats.dropped_wait[CR_BAND_KEY], 1);
    assert_int_equal(pc.stats.dropped_wait[CR_BAND_DELTA], 8);
    assert_int_equal(t.rooms[0].link.dropped, 9);
    assert_int_equal(pc.stats.dropped_wait[CR_BAND_AUDIO], 0);
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

static void test_bounded(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_pacer_t pc;
    cr_pacer_params_t pp;
    cr_pacer_params_default(&pp);
    pp.room_max_items = 4;
    pp.max_items = 6;
    setup(&t, &pc, 2, 1000000000, 100000000, &pp);
    cr_pacer_out_t ev;
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_DELTA, 10, 1000, 0, &ev), 0);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_PADDING, 11, 1000, 0, &ev), 0);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_KEY, 12, 1000, 0, &ev), 0);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_DELTA, 13, 1000, 0, &ev), 0);
    /* the classroom is full: video is refused, audio evicts the oldest of the lowest band */
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_DELTA, 14, 1000, 0, &ev), CR_EFULL);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_AUDIO, 15, 100, 0, &ev), 1);
    assert_int_equal(ev.handle, 11);
    assert_int_equal(ev.dropped, 1);
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_AUDIO, 16, 100, 0, &ev), 1);
    assert_int_equal(ev.handle, 10); /* then the oldest delta frame */
    assert_int_equal(pc.stats.refused[CR_BAND_DELTA], 1);
    assert_int_equal(pc.stats.evicted[CR_BAND_PADDING], 1);
    assert_int_equal(cr_pacer_queued(&pc, 0), 4);
    /* the shared pool (6) runs out for the other classroom: its audio evicts video elsewhere */
    assert_int_equal(cr_pacer_enqueue(&pc, 1, CR_BAND_DELTA, 20, 1000, 0, &ev), 0);
    assert_int_equal(cr_pacer_enqueue(&pc, 1, CR_BAND_DELTA, 21, 1000, 0, &ev), 0);
    assert_int_equal(cr_pacer_enqueue(&pc, 1, CR_BAND_DELTA, 22, 1000, 0, &ev), CR_EFULL);
    assert_int_equal(cr_pacer_enqueue(&pc, 1, CR_BAND_AUDIO, 23, 100, 0, &ev), 1);
    /* flush returns everything as dropped, so the caller can release its buffers */
    cr_pacer_out_t out[16];
    int n = cr_pacer_flush(&pc, -1, out, 16);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++)
        assert_int_equal(out[i].dropped, 1);
    assert_int_equal(cr_pacer_next_us(&pc), UINT64_MAX);
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

static void test_probe(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_pacer_t pc;
    setup(&t, &pc, 1, 1000000000, 10000000, NULL); /* 9 Mbps classroom budget */
    cr_pacer_out_t out[64];
    cr_pacer_dequeue(&pc, 0, out, 64);
    cr_pacer_probe(&pc, 0, 27000000, 15 * MS, 7, 0);
    for (uint32_t i = 0; i < 40; i++)
        cr_pacer_enqueue(&pc, 0, CR_BAND_PADDING, i, 1200, 0, NULL);
    /* 15 ms at 27 Mbps = 50 KB (42 packets) less the first bucket: about 3x the budget */
    uint64_t bytes = 0;
    unsigned tagged = 0;
    for (uint64_t now = 0; now < 15 * MS; now += 250) {
        int n = cr_pacer_dequeue(&pc, now, out, 64);
        for (int i = 0; i < n; i++) {
            bytes += out[i].size;
            tagged += out[i].probe_id == 7;
        }
    }
    assert_true(bytes * 8 * 1000 / 15 > 20000000ull * 15 / 15);
    assert_int_equal(tagged, bytes / 1200);
    int n = cr_pacer_dequeue(&pc, 20 * MS, out, 64);
    for (int i = 0; i < n; i++)
        assert_int_equal(out[i].probe_id, 0); /* after the cluster */
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

/* 30 classrooms of one school each get a keyframe at the same moment, on top of delta frames and
 * audio. Bytes are counted as a link's tbf counts them: with the IPv4, UDP and Ethernet headers
 * (WIRE_OVERHEAD), which the school's budget must cover too. */
#define WIRE_OVERHEAD 42

typedef struct tbf {
    double rate_bps, free_us, limit_bytes;
    unsigned drops;
} tbf_t;

/* A school-side tc tbf: a FIFO at the link's real rate with a byte limit. */
static void tbf_send(tbf_t *q, double now_us, uint32_t size)
{
    double start = now_us > q->free_us ? now_us : q->free_us;
    if ((start - now_us) * q->rate_bps / 8e6 + size > q->limit_bytes) {
        q->drops++;
        return;
    }
    q->free_us = start + size * 8e6 / q->rate_bps;
}

typedef struct burst_res {
    double peak_ratio, spread_ms;
    int rr_ok;
    unsigned tbf_drops, unpaced_drops, pacer_drops;
} burst_res_t;

/* school_bps: the school link's capacity (classrooms get a tenth); the frames scale with it: at
 * 1 Gbit/s a 100 KB keyframe and 2 Mbit/s of delta frames per classroom, at 100 Mbit/s (the bed's
 * scale) a 10 KB keyframe and one delta packet a frame. The pacer runs every step_us (a media
 * worker's loop under load). */
static void burst(uint64_t school_bps, unsigned step_us, const cr_pacer_params_t *pp, burst_res_t *res)
{
    cr_topo_t t;
    cr_pacer_t pc;
    setup(&t, &pc, 30, school_bps, school_bps / 10, pp);
    const double budget = (double)school_bps * 0.9;
    int keys = (int)(84 * (double)school_bps / 1e9), deltas = (int)(7 * (double)school_bps / 1e9);
    if (deltas < 1)
        deltas = 1;
    uint64_t per_ms[400] = {0};
    uint64_t last_key_us = 0;
    uint32_t h = 0;
    cr_pacer_out_t out[512], ev;
    memset(res, 0, sizeof(*res));
    res->rr_ok = 1;
    int first_keys = 0;
    uint8_t seen[30] = {0};
    tbf_t paced = {.rate_bps = (double)school_bps, .limit_bytes = 256 * 1024 * (double)school_bps / 1e9}, unpaced = paced;
    for (uint64_t now = 0; now < 300 * MS; now += step_us) {
        if (now % (33 * MS) < step_us)
            for (int k = 0; k < 30 * deltas; k++)
                tbf_send(&unpaced, (double)now, 1190 + WIRE_OVERHEAD);
        if (now == 50 * MS)
            for (int k = 0; k < 30 * keys; k++)
                tbf_send(&unpaced, (double)now, 1200 + WIRE_OVERHEAD);
        if (now % (20 * MS) < step_us) /* Opus every 20 ms */
            for (uint32_t r = 0; r < 30; r++)
                cr_pacer_enqueue(&pc, r, CR_BAND_AUDIO, h++, 120, now, &ev);
        if (now % (33 * MS) < step_us) /* a delta frame per classroom at 30 fps */
            for (uint32_t r = 0; r < 30; r++)
                for (int k = 0; k < deltas; k++)
                    cr_pacer_enqueue(&pc, r, CR_BAND_DELTA, h++, 1190, now, NULL);
        if (now == 50 * MS)
            for (uint32_t r = 0; r < 30; r++)
                for (int k = 0; k < keys; k++)
                    cr_pacer_enqueue(&pc, r, CR_BAND_KEY, h++, 1200, now, NULL);
        int n;
        do {
            n = cr_pacer_dequeue(&pc, now, out, 512);
            for (int i = 0; i < n; i++) {
                if (out[i].dropped) {
                    res->pacer_drops++;
                    continue;
                }
                per_ms[now / MS] += out[i].size + WIRE_OVERHEAD;
                tbf_send(&paced, (double)now, out[i].size + WIRE_OVERHEAD);
                if (out[i].band == CR_BAND_KEY) {
                    last_key_us = now;
                    if (first_keys < 30) { /* round robin: the first 30 keyframe packets, 30 rooms */
                        if (seen[out[i].room])
                            res->rr_ok = 0;
                        seen[out[i].room] = 1;
                        first_keys++;
                    }
                }
            }
        } while (n == 512);
    }
    uint64_t peak = 0;
    for (int i = 0; i + 10 <= 300; i++) {
        uint64_t w = 0;
        for (int k = 0; k < 10; k++)
            w += per_ms[i + k];
        if (w > peak)
            peak = w;
    }
    res->peak_ratio = (double)peak * 8 / (budget * 0.010);
    res->spread_ms = (double)(last_key_us - 50 * MS) / 1000.0;
    res->tbf_drops = paced.drops;
    res->unpaced_drops = unpaced.drops;
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

static void test_keyframe_burst_30_rooms(void **state)
{
    (void)state;
    /* The pacer must run about every school_burst_us while items wait (the media worker wakes at
     * cr_pacer_next_us); with much longer steps it would send under its budget. The 100 Mbit/s case
     * is the test bed's (sched_bed --goals 5), where min_burst_bytes sets the school bucket's depth. */
    const struct {
        uint64_t school_bps;
        unsigned step_us;
    } cases[] = {{1000000000, 100}, {1000000000, 250}, {100000000, 100}, {100000000, 250}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        burst_res_t r;
        burst(cases[i].school_bps, cases[i].step_us, NULL, &r);
        printf("goal=burst rooms=30 school_budget_mbps=%.0f pacer_step_us=%u peak10ms_over_budget=%.3f "
               "keyframes_spread_ms=%.1f school_tbf_drops=%u unpaced_tbf_drops=%u pacer_drops=%u\n",
               (double)cases[i].school_bps * 0.9 / 1e6, cases[i].step_us, r.peak_ratio, r.spread_ms, r.tbf_drops,
               r.unpaced_drops, r.pacer_drops);
        assert_true(r.peak_ratio <= 1.05);
        assert_int_equal(r.tbf_drops, 0);
        assert_int_equal(r.pacer_drops, 0);
        assert_true(r.unpaced_drops > 0); /* the same burst without the pacer overflows the tbf */
        assert_true(r.spread_ms >= 20 && r.spread_ms <= 60);
        assert_true(r.rr_ok);
    }
}

/* The same burst with the headers left out of the charge (packet_overhead 0) and the former
 * 400 us school bucket: the wire peak passes 1.05 x budget, as the test bed measured (1.088). */
static void test_keyframe_burst_headers_count(void **state)
{
    (void)state;
    cr_pacer_params_t pp;
    cr_pacer_params_default(&pp);
    pp.packet_overhead = 0;
    pp.school_burst_us = 400;
    burst_res_t r;
    burst(100000000, 100, &pp, &r);
    printf("goal=burst without headers: peak10ms_over_budget=%.3f\n", r.peak_ratio);
    assert_true(r.peak_ratio > 1.05);
}

/* The fast path: a packet leaves without queueing while its buckets hold it and nothing of its
 * school waits; audio always does; counted like a dequeued item. */
static void test_try_send(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_pacer_t pc;
    setup(&t, &pc, 2, 1000000000, 10000000, NULL); /* classroom budget 9 Mbit/s, bucket 3000 bytes */
    assert_int_equal(cr_pacer_try_send(&pc, 0, CR_BAND_DELTA, 1200, 0), 1);
    assert_int_equal(cr_pacer_try_send(&pc, 0, CR_BAND_DELTA, 1200, 0), 1);
    assert_int_equal(cr_pacer_try_send(&pc, 0, CR_BAND_DELTA, 1200, 0), 0); /* 600 bytes left */
    assert_int_equal(cr_pacer_try_send(&pc, 0, CR_BAND_AUDIO, 200, 0), 1);  /* into debt */
    assert_int_equal(cr_pacer_try_send(&pc, 1, CR_BAND_DELTA, 1200, 0), 1); /* another classroom */
    /* 1 ms at 9 Mbit/s = 1125 bytes: 400 + 1125 >= 1200 */
    assert_int_equal(cr_pacer_try_send(&pc, 0, CR_BAND_DELTA, 1200, 1 * MS), 1);
    /* something queued in the school: video of every classroom queues behind it */
    assert_int_equal(cr_pacer_enqueue(&pc, 0, CR_BAND_DELTA, 7, 1200, 1 * MS, NULL), 0);
    assert_int_equal(cr_pacer_try_send(&pc, 1, CR_BAND_KEY, 100, 1 * MS), 0);
    assert_int_equal(cr_pacer_try_send(&pc, 1, CR_BAND_RTCP, 100, 1 * MS), 1);
    assert_int_equal(cr_pacer_try_send(&pc, 9, CR_BAND_AUDIO, 100, 1 * MS), CR_EINVAL);
    assert_int_equal(t.rooms[0].link.sent_packets, 4);
    assert_int_equal(t.rooms[0].link.sent_bytes, 3 * 1200 + 200);
    assert_int_equal(t.schools[0].link.sent_packets, 6);
    assert_int_equal(pc.stats.sent[CR_BAND_DELTA], 4);
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_try_send),
        cmocka_unit_test(test_audio_never_waits),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_keyframe_burst_30_rooms),
        cmocka_unit_test(test_keyframe_burst_headers_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
