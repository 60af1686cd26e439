/*
 * Transport-wide feedback toward the classroom estimator (relay/fwd/cr_twcc.c, cr__sched_on_twcc):
 * the send history across the 16-bit wrap, unknown, repeated and stale sequence numbers, receive
 * deltas of both sizes, lost packets, the order by send time, arrivals moved into the relay's
 * clock, and the classroom's delay reporter handing over. A worker that is built but not started
 * supplies the scheduler; the test sets its clock and calls the feedback path directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_rtcp.h"
#include "cr_worker_int.h"

#define MS 1000ull
#define LOST INT32_MIN

static struct cr_worker *w;

static cr_peer_t *peer_new(void)
{
    cr_peer_t *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->role = CR_PEER_SUBSCRIBER;
    p->sched_room = CR_SCHED_NONE;
    for (unsigned i = 0; i < CR_PEER_MAX_STREAMS; i++)
        p->sched_sub[i] = CR_SCHED_NONE;
    p->twcc.ext_id = 5;
    p->twcc.hist = calloc(CR_TWCC_HIST, sizeof(*p->twcc.hist));
    assert_non_null(p->twcc.hist);
    cr_peer_set_place(p, "s1", "cc", 0, 0);
    return p;
}

/* A feedback packet for n statuses from base: d[i] is the receive delta in 250 us units, LOST for
 * a lost packet. Status vector chunks of 2-bit symbols, so both delta sizes can be written. */
static size_t twcc_pkt(uint8_t *buf, uint16_t base, const int32_t *d, unsigned n, int32_t ref_64ms)
{
    size_t len = 20;
    for (unsigned c = 0; c < n; c += 7) {
        unsigned chunk = 0xC000;
        for (unsigned k = 0; k < 7 && c + k < n; k++) {
            int32_t x = d[c + k];
            unsigned sym = x == LOST ? 0 : x >= 0 && x <= 255 ? 1 : 2;
            chunk |= sym << (2 * (6 - k));
        }
        buf[len++] = (uint8_t)(chunk >> 8);
        buf[len++] = (uint8_t)chunk;
    }
    for (unsigned i = 0; i < n; i++) {
        if (d[i] == LOST)
            continue;
        if (d[i] >= 0 && d[i] <= 255) {
            buf[len++] = (uint8_t)d[i];
        } else {
            buf[len++] = (uint8_t)((uint16_t)d[i] >> 8);
            buf[len++] = (uint8_t)d[i];
        }
    }
    while (len % 4 != 0)
        buf[len++] = 0;
    memset(buf, 0, 20);
    buf[0] = 0x80 | CR_RTCP_RTPFB_TWCC;
    buf[1] = CR_RTCP_RTPFB;
    buf[3] = (uint8_t)(len / 4 - 1);
    buf[12] = (uint8_t)(base >> 8);
    buf[13] = (uint8_t)base;
    buf[15] = (uint8_t)n;
    buf[16] = (uint8_t)(ref_64ms >> 16);
    buf[17] = (uint8_t)(ref_64ms >> 8);
    buf[18] = (uint8_t)ref_64ms;
    return len;
}

static int feed(cr_peer_t *p, uint16_t base, const int32_t *d, unsigned n, int32_t ref_64ms)
{
    uint8_t buf[512];
    cr_rtcp_pkt_t r = {.type = CR_RTCP_RTPFB, .count = CR_RTCP_RTPFB_TWCC, .data = buf};
    r.len = twcc_pkt(buf, base, d, n, ref_64ms);
    return cr__twcc_feedback(w, p, &r);
}

/* Six packets numbered across the wrap; feedback from two sequence numbers before them (never sent). */
static void test_history_and_arrivals(void **state)
{
    (void)state;
    cr_peer_t *p = peer_new();
    p->twcc.next_tseq = 65533;
    for (unsigned i = 0; i < 6; i++) {
        w->now_us = 10000 * MS + i * MS;
        cr__twcc_sent(w, p, 1000 + i);
    }
    assert_int_equal(p->twcc.next_tseq, 3);
    w->now_us = 10100 * MS;
    /* 65531, 65532: unknown. Then the six: 10 ms after the reference time, 1 ms apart, the third
     * lost, the fifth 5 ms late (+24), the sixth back on time (a 2-byte delta of -16). */
    const int32_t d[8] = {0, 0, 40, 4, LOST, 8, 24, -16};
    assert_int_equal(feed(p, 65531, d, 8, 1000), 0);
    assert_int_equal(p->twcc.fb_in, 1);
    assert_int_equal(p->twcc.reported, 6);
    assert_int_equal(p->twcc.lost, 1);
    assert_int_equal(p->twcc.last_fb_us, w->now_us);
    const cr_est_pkt_t *pk = w->twcc_pkts;
    static const uint64_t queue[6] = {0, 0, 0, 0, 5 * MS, 0};
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(pk[i].send_us, 10000 * MS + i * MS); /* not paced: when it was written */
        assert_int_equal(pk[i].size, 1000 + i);
        assert_int_equal(pk[i].lost, i == 2);
        if (i != 2) /* in the relay's clock: sent + queueing over the minimum one-way delay */
            assert_int_equal(pk[i].arrival_us, pk[i].send_us + queue[i]);
    }

    /* The same feedback again: nothing new to report. */
    assert_int_equal(feed(p, 65531, d, 8, 1000), 0);
    assert_int_equal(p->twcc.fb_in, 2);
    assert_int_equal(p->twcc.reported, 6);
    /* A packet reported only seconds later is no news. */
    cr__twcc_sent(w, p, 900);
    w->now_us += 3000 * MS;
    const int32_t one[1] = {4};
    assert_int_equal(feed(p, 3, one, 1, 1100), 0);
    assert_int_equal(p->twcc.reported, 6);
    /* Malformed (more statuses than its chunks hold): an error, nothing counted. */
    uint8_t buf[64];
    cr_rtcp_pkt_t r = {.type = CR_RTCP_RTPFB, .count = CR_RTCP_RTPFB_TWCC, .data = buf};
    r.len = twcc_pkt(buf, 3, one, 1, 1100);
    buf[15] = 30;
    assert_true(cr__twcc_feedback(w, p, &r) < 0);
    assert_int_equal(p->twcc.fb_in, 3);
    cr_peer_free(p);
}

/* Audio overtakes queued video: the estimator gets the packets in the order they left. */
static void test_send_order(void **state)
{
    (void)state;
    cr_peer_t *p = peer_new();
    static const uint64_t sent_ms[5] = {20005, 20001, 20003, 20002, 20004};
    for (unsigned i = 0; i < 5; i++) {
        w->now_us = sent_ms[i] * MS;
        cr__twcc_sent(w, p, 500 + i);
    }
    w->now_us = 20100 * MS;
    const int32_t d[5] = {4, 4, 4, 4, 4};
    assert_int_equal(feed(p, 0, d, 5, 2000), 0);
    static const uint32_t size_order[5] = {501, 503, 502, 504, 500};
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(w->twcc_pkts[i].send_us, (20001 + i) * MS);
        assert_int_equal(w->twcc_pkts[i].size, size_order[i]);
    }
    cr_peer_free(p);
}

/* Sends one packet from p and its feedback, at now; returns the rate_only flag it went in with. */
static int one_round(cr_peer_t *p, int32_t ref)
{
    uint16_t t = p->twcc.next_tseq;
    cr__twcc_sent(w, p, 1200);
    w->now_us += 20 * MS;
    const int32_t d[1] = {8};
    assert_int_equal(feed(p, t, d, 1, ref), 0);
    return w->twcc_pkts[0].rate_only;
}

/* The first receiver with feedback feeds the delay gradient, the others the rates only; it hands
 * over when its feedback stops for 500 ms or it leaves. */
static void test_delay_reporter(void **state)
{
    (void)state;
    cr_peer_t *a = peer_new(), *b = peer_new();
    w->now_us = 30000 * MS;
    cr__sched_attach(w, a);
    cr__sched_attach(w, b);
    assert_true(a->sched_room != CR_SCHED_NONE);
    assert_int_equal(a->sched_room, b->sched_room);
    cr__room_fb_t *fb = &w->sch.fb[a->sched_room];
    assert_int_equal(one_round(a, 100), 0);
    assert_int_equal(fb->twcc_us, w->now_us);
    assert_int_equal(one_round(b, 9000), 1); /* another clock: rates only */
    assert_int_equal(one_round(a, 100), 0);
    w->now_us += 600 * MS; /* a falls silent */
    assert_int_equal(one_round(b, 9000), 0);
    assert_int_equal(one_round(a, 100), 1);
    cr__sched_detach(w, b); /* b leaves */
    assert_int_equal(one_round(a, 100), 0);
    cr__sched_detach(w, a);
    cr_peer_free(a);
    cr_peer_free(b);
}

/* Feedback that lowers the estimate (here: every packet lost) reallocates in the same loop turn;
 * and while feedback comes, the classroom's tick makes no loss report of its own. */
static void test_falling_estimate_reallocates(void **state)
{
    (void)state;
    cr_peer_t *a = peer_new();
    w->now_us = cr_now_us() + 1000 * MS; /* (the estimator was started on the real clock) */
    a->n_sub = 1; /* an audio subscription: the tick looks at classrooms that have one */
    a->sub[0].kind = CR_SDP_AUDIO;
    cr__sched_attach(w, a);
    cr_est_t *e = &cr_topo_room(&w->sch.topo, a->sched_room)->est;
    cr__room_fb_t *fb = &w->sch.fb[a->sched_room];
    uint64_t before = cr_est_value(e, w->now_us);
    w->sch.dirty = 0;
    int32_t d[25];
    for (unsigned i = 0; i < 25; i++) {
        d[i] = LOST;
        cr__twcc_sent(w, a, 1200);
    }
    w->now_us += 50 * MS;
    assert_int_equal(feed(a, 0, d, 25, 100), 0);
    assert_int_equal(a->twcc.lost, 25);
    assert_true(cr_est_value(e, w->now_us) * 100 < before * 95);
    assert_int_equal(w->sch.dirty, 1);
    cr__sched_turn(w); /* the tick: no report for this classroom, and the allocation ran */
    assert_int_equal(w->sch.dirty, 0);
    assert_int_equal(fb->after_us, w->now_us);
    assert_true(fb->loss == 0.0);
    cr__sched_detach(w, a);
    cr_peer_free(a);
}

static int setup(void **state)
{
    (void)state;
    cr_conf_t *conf = malloc(sizeof(*conf));
    char err[256];
    cr_conf_defaults(conf);
    const char *text = "[school.s1]\n";
    assert_int_equal(cr_conf_parse(conf, "t", text, strlen(text), err, sizeof(err)), 0);
    cr_worker_opts_t o = {.bind_ip = "127.0.0.1", .port = 0, .consent_timeout_s = 30, .conf = conf};
    int e = cr_worker_new(&w, &o);
    free(conf);
    return e;
}

static int teardown(void **state)
{
    (void)state;
    cr_worker_free(w);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_and_arrivals),
        cmocka_unit_test(test_send_order),
        cmocka_unit_test(test_delay_reporter),
        cmocka_unit_test(test_falling_estimate_reallocates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
