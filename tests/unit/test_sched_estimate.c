/*
 * The bandwidth estimator: loss-based (receiver reports), REMB, delay-based (trendline over
 * transport-wide feedback, a standing queue), probes, and the school's shared-bottleneck detector.
 * Time is a parameter everywhere; the feedback comes from a small FIFO link model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "cr_estimate.h"

#define MS 1000ull

static void test_init_and_caps(void **state)
{
    (void)state;
    cr_est_t e;
    cr_est_init(&e, NULL, 100000000, 0);
    assert_int_equal(cr_est_value(&e, 0), 5000000); /* start rate */
    cr_est_init(&e, NULL, 2000000, 0);
    assert_int_equal(cr_est_value(&e, 0), 2000000); /* capped by the capacity */
    cr_est_init(&e, NULL, 100000, 0);
    assert_int_equal(cr_est_value(&e, 0), 100000); /* a tiny link: the capacity, not min_bps */
    assert_false(cr_est_degraded(&e, 0));
}

static void test_loss_based(void **state)
{
    (void)state;
    cr_est_t e;
    cr_est_init(&e, NULL, 100000000, 0);
    /* 25 % loss: decrease by half the loss fraction */
    cr_est_on_rr(&e, 64, 50 * MS, 1000 * MS);
    assert_int_equal(cr_est_value(&e, 1000 * MS), 4375000);
    assert_true(cr_est_degraded(&e, 1000 * MS));
    /* again within 300 ms + RTT: no second decrease */
    cr_est_on_rr(&e, 64, 50 * MS, 1200 * MS);
    assert_int_equal(cr_est_value(&e, 1200 * MS), 4375000);
    /* 5 %: hold */
    cr_est_on_rr(&e, 13, 50 * MS, 1500 * MS);
    assert_int_equal(cr_est_value(&e, 1500 * MS), 4375000);
    /* clean: +5 % (and 1 kbps) per report */
    cr_est_on_rr(&e, 0, 50 * MS, 2500 * MS);
    assert_int_equal(cr_est_value(&e, 2500 * MS), 4594750);
    assert_false(cr_est_degraded(&e, 2600 * MS)); /* the signal lasts 1 s */
}

static void test_remb(void **state)
{
    (void)state;
    cr_est_t e;
    cr_est_init(&e, NULL, 100000000, 0);
    cr_est_on_remb(&e, 1200000, 10 * MS);
    assert_int_equal(cr_est_value(&e, 10 * MS), 1200000);
    assert_int_equal(cr_est_value(&e, 4000 * MS), 1200000);
    assert_int_equal(cr_est_value(&e, 6000 * MS), 5000000); /* stale after 5 s */
    uint16_t id;
    cr_est_on_remb(&e, 1200000, 6000 * MS);
    assert_int_equal(cr_est_probe_want(&e, 6000 * MS, &id), 0); /* the receiver says no more */
}

/* A FIFO link: rate, 10 ms base delay, byte limit. Sends n packets of size at send_bps from t0
 * and feeds the estimator every 50 ms. Returns the time after the last feedback. */
typedef struct link {
    double rate_bps, free_us;
    uint64_t now;
    uint8_t rate_only; /* feed the packets as rate_only */
    unsigned lose_every; /* report every n-th packet lost, 0 = none */
    unsigned count;
} link_t;

static uint64_t drive(cr_est_t *e, link_t *l, double send_bps, uint64_t dur_us, uint16_t probe_id)
{
    cr_est_pkt_t pk[1024];
    size_t n = 0;
    const uint32_t size = 1200;
    double gap = size * 8e6 / send_bps;
    uint64_t end = l->now + dur_us, next_fb = l->now + 50 * MS;
    for (double t = (double)l->now; t < (double)end; t += gap) {
        double start = t > l->free_us ? t : l->free_us;
        l->free_us = start + size * 8e6 / l->rate_bps;
        pk[n] = (cr_est_pkt_t){.send_us = (uint64_t)t, .arrival_us = (uint64_t)l->free_us + 10 * MS,
                               .size = size, .probe_id = probe_id, .rate_only = l->rate_only};
        if (l->lose_every != 0 && ++l->count % l->lose_every == 0)
            pk[n].lost = 1;
        n++;
        if ((uint64_t)t >= next_fb || n == 1024) {
            cr_est_on_packets(e, pk, n, (uint64_t)t + 20 * MS);
            n = 0;
            next_fb += 50 * MS;
        }
    }
    if (n > 0)
        cr_est_on_packets(e, pk, n, end + 20 * MS);
    l->now = end;
    return end;
}

/* A 100 Mbit/s link whose estimate starts at start_bps. */
static void init_at(cr_est_t *e, uint64_t start_bps)
{
    cr_est_params_t p;
    cr_est_params_default(&p);
    p.start_bps = start_bps;
    cr_est_init(e, &p, 100000000, 0);
}

static void test_delay_based(void **state)
{
    (void)state;
    cr_est_t e;
    init_at(&e, 8000000);
    link_t l = {.rate_bps = 10e6};
    /* below capacity: no congestion, the estimate grows (capped by 1.5 x the acknowledged rate) */
    drive(&e, &l, 6e6, 2000 * MS, 0);
    assert_int_equal(e.usage, CR_EST_NORMAL);
    assert_false(cr_est_degraded(&e, l.now));
    uint64_t v = cr_est_value(&e, l.now);
    assert_true(v > 8000000 && v <= 9100000 + 10000);
    /* 30 % above capacity: the queue grows, overuse, back off to about 0.85 x what was delivered */
    drive(&e, &l, 13e6, 600 * MS, 0);
    assert_true(cr_est_degraded(&e, l.now));
    v = cr_est_value(&e, l.now);
    assert_true(v < 9000000 && v >= 7000000);
    /* the link capacity estimate: what the link delivered when it congested (<= 10 Mbps) */
    assert_true(e.lce_bps > 6e6 && e.lce_bps <= 10.5e6);
}

static void test_standing_queue(void **state)
{
    (void)state;
    cr_est_t e;
    cr_est_params_t p;
    cr_est_params_default(&p);
    p.start_bps = 10200000;
    cr_est_init(&e, &p, 100000000, 0);
    link_t l = {.rate_bps = 10e6};
    /* 2 % above capacity: a slope under the trendline's threshold, but a queue that keeps growing */
    drive(&e, &l, 10.2e6, 2000 * MS, 0);
    assert_true(e.queue_us > 20 * MS || cr_est_degraded(&e, l.now));
    drive(&e, &l, 10.2e6, 1000 * MS, 0);
    assert_true(cr_est_degraded(&e, l.now));
    assert_true(cr_est_value(&e, l.now) < 10000000);
}

/* rate_only packets (another receiver's, in the relay's clock) count in the sent and acknowledged
 * rates and in the loss, but never reach the delay gradient or the standing queue: a queue that
 * would be overuse from the delay reporter leaves the delay-based estimate alone. */
static void test_rate_only(void **state)
{
    (void)state;
    cr_est_t e;
    init_at(&e, 8000000);
    link_t l = {.rate_bps = 10e6, .rate_only = 1};
    drive(&e, &l, 6e6, 1000 * MS, 0);
    assert_true(e.sent_bps > 5e6 && e.sent_bps < 7e6);
    assert_true(e.acked_bps > 5e6 && e.acked_bps < 7e6);
    /* 30 % over the link: the queue grows without bound, yet no delay sample was taken */
    drive(&e, &l, 13e6, 1000 * MS, 0);
    assert_int_equal(e.num_deltas, 0);
    assert_int_equal(e.trend_n, 0);
    assert_int_equal(e.grp_open, 0);
    assert_int_equal(e.owd_valid, 0);
    assert_int_equal(e.queue_us, 0);
    assert_int_equal(e.usage, CR_EST_NORMAL);
    assert_true(e.acked_bps > 9e6 && e.acked_bps < 11e6); /* what the link delivered */
    assert_true(e.sent_bps > 12e6);
    assert_true(cr_est_value(&e, l.now) >= 8000000);
    /* Their losses count: 20 % loss lowers the loss-based estimate. */
    l.lose_every = 5;
    l.rate_bps = 100e6;
    drive(&e, &l, 6e6, 1000 * MS, 0);
    assert_true(cr_est_degraded(&e, l.now));
    assert_true(cr_est_value(&e, l.now) < 8000000);
    assert_int_equal(e.num_deltas, 0);

    /* The same overload fed normally is overuse: the flag is what kept it out. */
    init_at(&e, 8000000);
    link_t d = {.rate_bps = 10e6};
    drive(&e, &d, 6e6, 1000 * MS, 0);
    drive(&e, &d, 13e6, 1000 * MS, 0);
    assert_true(e.num_deltas > 0);
    assert_true(cr_est_degraded(&e, d.now));
}

/* Two receivers of one link, 2 Mbit/s each, send their feedback 25 ms apart: the newest buckets
 * hold only one of them until the other reports. Mean acknowledged rate over 2 s, with or without
 * telling the estimator how far both have reported (cr_est_set_horizon). */
static uint64_t last_us(const cr_est_pkt_t *pk, size_t n, int arrival)
{
    return arrival ? pk[n - 1].arrival_us : pk[n - 1].send_us;
}

static double staggered_acked(int horizon)
{
    cr_est_t e;
    cr_est_init(&e, NULL, 100000000, 0);
    cr_est_pkt_t a[64], b[64];
    size_t na = 0, nb = 0;
    uint64_t arr[2] = {0, 0}, snd[2] = {0, 0};
    double sum = 0;
    unsigned samples = 0;
    /* 1200-byte packets, 2 Mbit/s per receiver: one every 4.8 ms each, 5 ms of delay */
    for (uint64_t t = 0; t < 2000 * MS; t += 4800) {
        a[na++] = (cr_est_pkt_t){.send_us = t, .arrival_us = t + 5 * MS, .size = 1200};
        b[nb++] = (cr_est_pkt_t){.send_us = t + 100, .arrival_us = t + 5 * MS + 100, .size = 1200, .rate_only = 1};
        uint64_t now = t + 5 * MS;
        if (now % (50 * MS) < 4800 && na > 0) { /* receiver A reports at 0, 50, 100 ... ms */
            arr[0] = last_us(a, na, 1), snd[0] = last_us(a, na, 0);
            if (horizon)
                cr_est_set_horizon(&e, arr[0] < arr[1] ? arr[0] : arr[1], snd[0] < snd[1] ? snd[0] : snd[1]);
            cr_est_on_packets(&e, a, na, now);
            na = 0;
        }
        if ((now + 25 * MS) % (50 * MS) < 4800 && nb > 0) { /* B at 25, 75, 125 ... ms */
            arr[1] = last_us(b, nb, 1), snd[1] = last_us(b, nb, 0);
            if (horizon)
                cr_est_set_horizon(&e, arr[0] < arr[1] ? arr[0] : arr[1], snd[0] < snd[1] ? snd[0] : snd[1]);
            cr_est_on_packets(&e, b, nb, now);
            nb = 0;
        }
        if (now >= 500 * MS && cr_est_acked(&e) > 0) {
            sum += (double)cr_est_acked(&e);
            samples++;
        }
    }
    return samples ? sum / samples : 0;
}

static void test_horizon(void **state)
{
    (void)state;
    double without = staggered_acked(0), with = staggered_acked(1);
    printf("horizon: receivers=2 true_mbps=4.00 acked_without_mbps=%.2f acked_with_mbps=%.2f\n", without / 1e6,
           with / 1e6);
    assert_true(without < 0.95 * 4e6);
    assert_true(with > 0.97 * 4e6 && with < 1.03 * 4e6);
}

static void test_probes(void **state)
{
    (void)state;
    cr_est_t e;
    cr_est_init(&e, NULL, 100000000, 0);
    uint16_t id = 0;
    /* startup: 3x the start rate, at once */
    assert_int_equal(cr_est_probe_want(&e, 0, &id), 15000000);
    assert_int_not_equal(id, 0);
    assert_int_equal(cr_est_probe_want(&e, 1 * MS, &id), 0); /* one cluster at a time */
    /* the link (40 Mbps) carries the whole cluster: the estimate jumps, the next probe follows */
    link_t l = {.rate_bps = 40e6};
    drive(&e, &l, 15e6, 15 * MS, id);
    cr_est_pkt_t after = {.send_us = l.now + 1 * MS, .arrival_us = (uint64_t)l.free_us + 11 * MS, .size = 100};
    cr_est_on_packets(&e, &after, 1, l.now + 30 * MS);
    assert_true(cr_est_value(&e, l.now + 30 * MS) >= 14000000);
    uint64_t r = cr_est_probe_want(&e, l.now + 30 * MS, &id);
    assert_true(r >= 28000000 && r <= 30000000); /* 2x the result */
    /* fully delivered again (29 Mbps on 40): the third probe, at 2x, goes above the link's rate */
    l.now += 30 * MS;
    drive(&e, &l, (double)r, 15 * MS, id);
    after.send_us = l.now + 1 * MS;
    after.arrival_us = (uint64_t)l.free_us + 11 * MS;
    cr_est_on_packets(&e, &after, 1, l.now + 40 * MS);
    r = cr_est_probe_want(&e, l.now + 40 * MS, &id);
    assert_true(r >= 50000000);
    l.now += 40 * MS;
    l.free_us = (double)l.now;
    drive(&e, &l, (double)r, 15 * MS, id);
    after.send_us = l.now + 1 * MS;
    after.arrival_us = (uint64_t)l.free_us + 11 * MS;
    cr_est_on_packets(&e, &after, 1, l.now + 40 * MS);
    /* that cluster measured the link: ~0.95 x 40 Mbps, and growth is additive from there */
    uint64_t v = cr_est_value(&e, l.now + 40 * MS);
    assert_true(v >= 34000000 && v <= 40000000);
    assert_true(e.lce_bps > 0);
    /* near the capacity: the next probe waits for the interval */
    assert_int_equal(cr_est_probe_want(&e, l.now + 50 * MS, &id), 0);
    /* a cluster that never gets feedback is given up after a second */
    cr_est_t f;
    cr_est_init(&f, NULL, 100000000, 0);
    assert_true(cr_est_probe_want(&f, 0, &id) > 0);
    assert_int_equal(cr_est_probe_want(&f, 500 * MS, &id), 0);
    assert_int_equal(cr_est_probe_want(&f, 1001 * MS, &id), 0); /* abandoned, then the interval */
    assert_true(cr_est_probe_want(&f, 3002 * MS, &id) > 0);
}

static void test_shared_bottleneck(void **state)
{
    (void)state;
    cr_school_est_t s;
    cr_school_est_init(&s, 1000000000, 0);
    /* one classroom in trouble: its own link; the school holds */
    assert_int_equal(cr_school_est_update(&s, 10, 1, 500000000, 500000000, 100 * MS), 1000000000);
    /* six of ten degrade together and the link delivered less than it was sent: 0.85 x carried */
    assert_int_equal(cr_school_est_update(&s, 10, 6, 600000000, 800000000, 200 * MS), 510000000);
    assert_int_equal(s.dropped, 1);
    /* again within 500 ms: no second drop */
    assert_int_equal(cr_school_est_update(&s, 10, 6, 400000000, 800000000, 400 * MS), 510000000);
    /* clean: 10 %/s of the congestion rate up to 95 % of it */
    uint64_t v = cr_school_est_update(&s, 10, 0, 500000000, 500000000, 1400 * MS);
    assert_int_equal(v, 570000000);
    /* bursts (delivered what was sent): a 10 % step from the estimate */
    v = cr_school_est_update(&s, 10, 5, 300000000, 300000000, 2000 * MS);
    assert_int_equal(v, 513000000);
    /* long clean: back to the capacity, never above */
    uint64_t now = 2000 * MS;
    for (int i = 0; i < 60; i++)
        v = cr_school_est_update(&s, 10, 0, 0, 0, now += 1000 * MS);
    assert_int_equal(v, 1000000000);
}

/* Loss reports for links without transport-wide feedback (cr_est_on_report): start at capacity, fall
 * to what the link delivered in one report, climb back once clean, and leave shared congestion to
 * the school. */
static void test_report(void **state)
{
    (void)state;
    cr_est_params_t p;
    cr_est_params_default(&p);
    p.start_bps = 0;
    cr_est_t e;
    cr_est_init(&e, &p, 10000000, 0);
    assert_int_equal(cr_est_value(&e, 0), 10000000);
    /* the link drops to 4 Mbit/s under 9 Mbit/s sent: 55 % loss -> 0.85 x 4.05 Mbit/s */
    cr_est_on_report(&e, 0.55, 20 * MS, 9000000, 200, 1000 * MS);
    uint64_t v = cr_est_value(&e, 1000 * MS);
    assert_true(v > 3400000 && v < 3450000);
    assert_true(cr_est_degraded(&e, 1000 * MS));
    assert_true(cr_est_acked(&e) >= 4049990 && cr_est_acked(&e) <= 4050000);
    assert_true(e.packets_in == 200);
    /* again within 300 ms + RTT: no second decrease */
    cr_est_on_report(&e, 0.5, 20 * MS, 4000000, 100, 1200 * MS);
    assert_int_equal(cr_est_value(&e, 1200 * MS), v);
    /* 5 % loss: hold */
    cr_est_on_report(&e, 0.05, 20 * MS, 3800000, 100, 1500 * MS);
    assert_int_equal(cr_est_value(&e, 1500 * MS), v);
    /* clean: slowly near the congestion point (8 %/s), then 25 %/s, up to the capacity */
    uint64_t t = 1500 * MS;
    for (int i = 0; i < 4; i++)
        cr_est_on_report(&e, 0, 20 * MS, 3800000, 100, t += 250 * MS);
    uint64_t v1 = cr_est_value(&e, t);
    assert_true(v1 > (uint64_t)(v * 1.07) && v1 < (uint64_t)(v * 1.09));
    for (int i = 0; i < 40; i++)
        cr_est_on_report(&e, 0, 20 * MS, 3800000, 100, t += 250 * MS);
    assert_int_equal(cr_est_value(&e, t), 10000000);
    /* 5 % loss twice after the rate went up: an overshoot, back under what was delivered */
    cr_est_on_report(&e, 0, 20 * MS, 5000000, 100, t += 250 * MS);
    cr_est_on_report(&e, 0.05, 20 * MS, 5500000, 100, t += 250 * MS);
    assert_int_equal(cr_est_value(&e, t), 10000000);
    cr_est_on_report(&e, 0.05, 20 * MS, 5500000, 100, t += 250 * MS);
    v = cr_est_value(&e, t);
    assert_true(v > 4960000 && v < 4965000); /* 0.95 x 5.5 x 0.95 */
    /* the same loss at a rate that was clean: held */
    for (int i = 0; i < 40; i++)
        cr_est_on_report(&e, 0, 20 * MS, 3000000, 100, t += 250 * MS);
    cr_est_on_report(&e, 0.05, 20 * MS, 3000000, 100, t += 250 * MS);
    cr_est_on_report(&e, 0.05, 20 * MS, 3000000, 100, t += 250 * MS);
    assert_int_equal(cr_est_value(&e, t), 10000000);
    /* while the school link is the bottleneck, the classroom does not back off itself */
    cr_est_school_congested(&e, t + 1000 * MS);
    cr_est_on_report(&e, 0.5, 20 * MS, 9000000, 200, t += 100 * MS);
    assert_int_equal(cr_est_value(&e, t), 10000000);
    assert_true(cr_est_degraded(&e, t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_caps),
        cmocka_unit_test(test_loss_based),
        cmocka_unit_test(test_remb),
        cmocka_unit_test(test_delay_based),
        cmocka_unit_test(test_standing_queue),
        cmocka_unit_test(test_rate_only),
        cmocka_unit_test(test_horizon),
        cmocka_unit_test(test_probes),
        cmocka_unit_test(test_shared_bottleneck),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
