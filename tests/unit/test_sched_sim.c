/*
 * The scheduler's measured goals (issue 5), in a deterministic closed-loop simulation with a fake
 * clock (sched_sim.h): estimator + allocator + pacer against modelled rate-limited links. Nothing
 * here reads a clock; each test prints its figures as key=value lines.
 *
 *   1. utilisation: a classroom link below demand carries >= 90 % of its capacity in media, with
 *      <= 0.5 % loss and p99 queueing delay <= 30 ms, within 5 s of start;
 *   2. capacity drop to 40 %: the allocation follows within 1 s; after the capacity returns the
 *      allocation is back to >= 90 % within 10 s;
 *   3. audio: no audio packet lost in a 50 % cut combined with a keyframe request from every
 *      classroom (classroom link, and school link shared by 10 classrooms);
 *   4. fairness in the loop: equal classrooms behind one school bottleneck get Jain's index >= 0.95.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "sched_sim.h"

static double jain(const double *x, int n)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        s2 += x[i] * x[i];
    }
    return s2 > 0 ? s * s / (n * s2) : 1.0;
}

static sim_t *one_room(double real_bps, int others)
{
    sim_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    sim_init(s, 1000000000ull, 1e9, 1, 100000000ull, real_bps);
    sim_std_room(s, 0, others); /* demand: 2.5 + 1.5 + others x 1.2 Mbps + audio */
    return s;
}

/* Goal 1 on a classroom link of cap (configured 100 Mbps) below the demand; leaves s at 20 s. */
static void utilisation(sim_t *s, double cap)
{
    sim_room_t *r = &s->rooms[0];
    /* convergence: the first second that carries >= 90 % of the capacity in media */
    int converged_s = -1;
    for (int sec = 1; sec <= 5 && converged_s < 0; sec++) {
        sim_reset_meas(s);
        sim_run_until(s, (uint64_t)sec * 1000000);
        if ((double)r->media_bytes_arrived * 8 >= 0.9 * cap)
            converged_s = sec;
    }
    /* steady state from 5 s to 20 s */
    sim_run_until(s, 5000000);
    sim_reset_meas(s);
    sim_run_until(s, 20000000);
    double util = (double)r->media_bytes_arrived * 8 / 15.0 / cap;
    double loss = (double)r->media_lost / (double)r->media_sent;
    double p99 = sim_p99_ms(r);
    printf("goal=utilisation capacity_mbps=%.0f converged_within_s=%d media_share=%.3f loss=%.4f p99_queue_ms=%.0f "
           "audio_lost=%llu\n",
           cap / 1e6, converged_s, util, loss, p99, (unsigned long long)r->audio_lost);
    assert_true(converged_s > 0 && converged_s <= 5);
    assert_true(util >= 0.90);
    assert_true(loss <= 0.005);
    assert_true(p99 <= 30);
    assert_int_equal(r->audio_lost, 0);
}

static void test_utilisation_12(void **state)
{
    (void)state;
    sim_t *s = one_room(12e6, 10);
    utilisation(s, 12e6);
    sim_free(s);
    free(s);
}

static void test_utilisation_and_drop(void **state)
{
    (void)state;
    const double cap = 20e6;
    sim_t *s = one_room(cap, 16);
    sim_room_t *r = &s->rooms[0];
    cr_room_t *room = cr_topo_room(&s->t, 0);
    utilisation(s, cap);

    /* capacity drop to 40 % at 20 s: the allocation follows within 1 s */
    uint64_t before = room->link.alloc_bps;
    r->link.rate_bps = 0.4 * cap;
    uint64_t followed_us = 0;
    while (s->now < 21000000) {
        sim_step(s);
        if (followed_us == 0 && room->link.alloc_bps <= (uint64_t)(0.4 * cap))
            followed_us = s->now - 20000000;
    }
    printf("goal=capacity_drop alloc_before_mbps=%.2f followed_ms=%.0f alloc_after_1s_mbps=%.2f\n", before / 1e6,
           followed_us / 1e3, room->link.alloc_bps / 1e6);
    assert_true(followed_us > 0 && followed_us <= 1000000);
    sim_run_until(s, 30000000);
    assert_true(room->link.alloc_bps <= (uint64_t)(0.4 * cap));

    /* the capacity returns at 30 s: back to >= 90 % of the allocation before the drop */
    r->link.rate_bps = cap;
    uint64_t back_us = 0;
    while (s->now < 42000000 && back_us == 0) {
        sim_step(s);
        if (room->link.alloc_bps >= (uint64_t)(0.9 * (double)before))
            back_us = s->now - 30000000;
    }
    printf("goal=capacity_recovery back_to_90pct_s=%.2f\n", back_us / 1e6);
    assert_true(back_us > 0 && back_us <= 10000000);
    sim_free(s);
    free(s);
}

static void keyframes_everywhere(sim_t *s)
{
    for (int i = 0; i < s->n_rooms; i++)
        for (int k = 0; k < s->rooms[i].n_subs; k++)
            s->rooms[i].key_pending[k] = 1;
}

static void test_audio_room_cut(void **state)
{
    (void)state;
    const double cap = 20e6;
    sim_t *s = one_room(cap, 16);
    sim_run_until(s, 10000000);
    sim_reset_meas(s);
    s->rooms[0].link.rate_bps = 0.5 * cap;
    keyframes_everywhere(s);
    sim_run_until(s, 20000000);
    sim_room_t *r = &s->rooms[0];
    printf("goal=audio scope=classroom cut=0.5 audio_sent=%llu audio_lost=%llu video_lost=%llu pacer_drops=%llu\n",
           (unsigned long long)r->audio_sent, (unsigned long long)r->audio_lost, (unsigned long long)r->media_lost,
           (unsigned long long)r->pacer_drops);
    assert_true(r->audio_sent > 400);
    assert_int_equal(r->audio_lost, 0);
    sim_free(s);
    free(s);
}

static void test_school_fair_and_audio_cut(void **state)
{
    (void)state;
    /* 10 equal classrooms (100 Mbps links) behind a 60 Mbps school bottleneck (configured 100). */
    sim_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    const int n = 10;
    sim_init(s, 100000000ull, 60e6, (unsigned)n, 100000000ull, 100e6);
    for (int i = 0; i < n; i++)
        sim_std_room(s, i, 4); /* demand 2.5 + 1.5 + 4 x 1.2 = 8.8 Mbps each */
    sim_run_until(s, 10000000);
    sim_reset_meas(s);
    sim_run_until(s, 20000000);
    double rate[SIM_ROOMS], total = 0;
    uint64_t audio_lost = 0, audio_sent = 0;
    for (int i = 0; i < n; i++) {
        rate[i] = (double)s->rooms[i].media_bytes_arrived * 8 / 10.0;
        total += rate[i];
        audio_lost += s->rooms[i].audio_lost;
    }
    double j = jain(rate, n);
    printf("goal=fairness scope=closed_loop rooms=%d school_mbps=60 carried_mbps=%.1f jain=%.4f school_est_mbps=%.1f\n",
           n, total / 1e6, j, cr_topo_school(&s->t, 0)->link.estimate_bps / 1e6);
    assert_true(j >= 0.95);
    assert_int_equal(audio_lost, 0);

    /* cut the school link by half and ask every classroom for keyframes at once */
    sim_reset_meas(s);
    s->school_link.rate_bps = 30e6;
    keyframes_everywhere(s);
    sim_run_until(s, 30000000);
    uint64_t video_lost = 0, drops = 0;
    for (int i = 0; i < n; i++) {
        audio_lost += s->rooms[i].audio_lost;
        audio_sent += s->rooms[i].audio_sent;
        video_lost += s->rooms[i].media_lost;
        drops += s->rooms[i].pacer_drops;
    }
    printf("goal=audio scope=school rooms=%d cut=0.5 audio_sent=%llu audio_lost=%llu video_lost=%llu pacer_drops=%llu "
           "school_est_mbps=%.1f\n",
           n, (unsigned long long)audio_sent, (unsigned long long)audio_lost, (unsigned long long)video_lost,
           (unsigned long long)drops, cr_topo_school(&s->t, 0)->link.estimate_bps / 1e6);
    assert_true(audio_sent > 4000);
    assert_int_equal(audio_lost, 0);
    sim_free(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utilisation_12),
        cmocka_unit_test(test_utilisation_and_drop),
        cmocka_unit_test(test_audio_room_cut),
        cmocka_unit_test(test_school_fair_and_audio_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
