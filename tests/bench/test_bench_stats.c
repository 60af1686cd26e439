/*
 * What the load generator counts per stream (loss, gaps for NACK, recovery, duplicates, jitter,
 * receiver report blocks), the latency histogram, and the offers the tools send (parsed by the relay's
 * own SDP parser and accepted by its negotiation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cr_bench_peer.h"
#include "cr_bench_stats.h"
#include "cr_err.h"
#include "cr_sdp.h"

static void test_in_order(void **state)
{
    (void)state;
    cr_bench_seq_t t;
    uint16_t miss[8];
    cr_bench_seq_init(&t, 90000);
    assert_int_equal(cr_bench_seq_expected(&t), 0);
    for (uint32_t i = 0; i < 70000; i++) /* wraps around 65535 -> 0 */
        assert_int_equal(cr_bench_seq_push(&t, (uint16_t)(65000 + i), miss, 8), 0);
    assert_int_equal(cr_bench_seq_expected(&t), 70000);
    assert_int_equal(t.unique, 70000);
    assert_int_equal(cr_bench_seq_lost(&t), 0);
    assert_int_equal(t.gaps, 0);
    assert_int_equal(t.duplicates, 0);
}

static void test_gaps_and_recovery(void **state)
{
    (void)state;
    cr_bench_seq_t t;
    uint16_t miss[8];
    cr_bench_seq_init(&t, 90000);
    cr_bench_seq_push(&t, 65533, miss, 8);
    /* 65534, 65535, 0 go missing across the wrap. */
    assert_int_equal(cr_bench_seq_push(&t, 1, miss, 8), 3);
    assert_int_equal(miss[0], 65534);
    assert_int_equal(miss[1], 65535);
    assert_int_equal(miss[2], 0);
    assert_int_equal(t.gaps, 3);
    assert_int_equal(cr_bench_seq_lost(&t), 3);
    /* A retransmission fills one; a second copy is a duplicate. */
    assert_int_equal(cr_bench_seq_push(&t, 65535, miss, 8), 0);
    assert_int_equal(cr_bench_seq_push(&t, 65535, miss, 8), 0);
    assert_int_equal(cr_bench_seq_push(&t, 1, miss, 8), 0);
    assert_int_equal(t.recovered, 1);
    assert_int_equal(t.duplicates, 2);
    assert_int_equal(cr_bench_seq_lost(&t), 2);
    assert_int_equal(cr_bench_seq_expected(&t), 5);
    /* More missing than fit: the oldest are reported, all are counted. */
    assert_int_equal(cr_bench_seq_push(&t, 20, miss, 8), 8);
    assert_int_equal(miss[0], 2);
    assert_int_equal(miss[7], 9);
    assert_int_equal(t.gaps, 3 + 18);
    /* Older than the first packet, and far older than the window: not counted. */
    assert_int_equal(cr_bench_seq_push(&t, 65000, miss, 8), 0);
    assert_int_equal(t.too_late, 1);
    assert_int_equal(cr_bench_seq_lost(&t), 2 + 18);
}

static void test_big_jump(void **state)
{
    (void)state;
    cr_bench_seq_t t;
    uint16_t miss[4];
    cr_bench_seq_init(&t, 48000);
    cr_bench_seq_push(&t, 100, miss, 4);
    assert_int_equal(cr_bench_seq_push(&t, 100 + CR_BENCH_SEQ_WINDOW + 10, miss, 4), 0);
    assert_int_equal(t.gaps, CR_BENCH_SEQ_WINDOW + 9);
    /* The skipped numbers were forgotten: a late one within the window is new, not a duplicate. */
    assert_int_equal(cr_bench_seq_push(&t, 100 + CR_BENCH_SEQ_WINDOW, miss, 4), 0);
    assert_int_equal(t.recovered, 1);
    assert_int_equal(t.duplicates, 0);
    /* A jump backwards by more than half the sequence space reads as very late. */
    assert_int_equal(cr_bench_seq_push(&t, (uint16_t)(100 + CR_BENCH_SEQ_WINDOW + 10 + 40000), miss, 4), 0);
    assert_int_equal(t.too_late, 1);
}

static void test_report_block(void **state)
{
    (void)state;
    cr_bench_seq_t t;
    cr_rtcp_report_block_t b;
    uint16_t miss[64];
    cr_bench_seq_init(&t, 90000);
    for (uint16_t s = 10; s < 110; s++)
        if (s % 4 != 0) /* a quarter lost */
            cr_bench_seq_push(&t, s, miss, 64);
    cr_bench_seq_report(&t, 0x1234, &b);
    assert_int_equal(b.ssrc, 0x1234);
    assert_int_equal(b.ext_high_seq, 109);
    assert_int_equal(b.cum_lost, 25);
    assert_int_equal(b.fraction_lost, 256 * 25 / 100); /* expected 100: from 10 to 109 */
    for (uint16_t s = 110; s < 210; s++)
        cr_bench_seq_push(&t, s, miss, 64);
    cr_bench_seq_report(&t, 0x1234, &b);
    assert_int_equal(b.fraction_lost, 0); /* nothing lost in this interval */
    assert_int_equal(b.cum_lost, 25);
}

static void test_jitter(void **state)
{
    (void)state;
    cr_bench_seq_t t;
    cr_bench_seq_init(&t, 90000);
    /* Perfectly timed packets: no jitter. */
    for (uint32_t i = 0; i < 100; i++)
        cr_bench_seq_jitter(&t, 1000 + i * 3000, 5000000 + (uint64_t)i * 33333 + (i % 3 == 0));
    assert_true((t.jitter_q4 >> 4) <= 1);
    /* Arrivals alternating 10 ms early/late converge toward 1800 ticks (20 ms swings). */
    for (uint32_t i = 100; i < 400; i++)
        cr_bench_seq_jitter(&t, 1000 + i * 3000, 5000000 + (uint64_t)i * 33333 + (i % 2 ? 20000 : 0));
    assert_true((t.jitter_q4 >> 4) > 1500 && (t.jitter_q4 >> 4) <= 1810);
}

static void test_hist(void **state)
{
    (void)state;
    cr_bench_hist_t *h = calloc(1, sizeof(*h)), *h2 = calloc(1, sizeof(*h2));
    assert_int_equal(cr_bench_hist_quantile(h, 0.5), -1);
    for (int i = 1; i <= 1000; i++)
        cr_bench_hist_add(h, i);
    assert_int_equal(cr_bench_hist_quantile(h, 0.5), 500);
    assert_int_equal(cr_bench_hist_quantile(h, 0.99), 990);
    assert_int_equal(cr_bench_hist_quantile(h, 1.0), 1000);
    cr_bench_hist_add(h2, -5);
    cr_bench_hist_add(h2, 250400);     /* a 1 ms bucket: reported at its lower bound */
    cr_bench_hist_add(h2, 20000000);   /* beyond 10.1 s */
    assert_int_equal(h2->negative, 1);
    assert_int_equal(h2->overflow, 1);
    assert_int_equal(cr_bench_hist_quantile(h2, 0.3), 0);
    assert_int_equal(cr_bench_hist_quantile(h2, 0.6), 250000);
    assert_int_equal(cr_bench_hist_quantile(h2, 1.0), 20000000);
    cr_bench_hist_merge(h, h2);
    assert_int_equal(h->count, 1003);
    assert_int_equal(h->max_us, 20000000);
    assert_int_equal(cr_bench_hist_quantile(h, 1.0), 20000000);
    assert_int_equal(cr_bench_hist_quantile(h, 0.999), 250000);
    free(h);
    free(h2);
}

static const char fp[] = "sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

static void test_offer(void **state)
{
    (void)state;
    char buf[8192];
    cr_sdp_t *s = calloc(1, sizeof(*s)), *ans = calloc(1, sizeof(*ans));
    for (int publisher = 0; publisher < 2; publisher++) {
        cr_bench_offer_params_t p = {.publisher = publisher, .ice_ufrag = "abcd1234",
                                     .ice_pwd = "passwordpasswordpassword", .fingerprint = fp,
                                     .audio_ssrc = 111111, .video_ssrc = 222222, .cname = "bench",
                                     .profile_level_id = "42e01f"};
        int n = cr_bench_offer_write(buf, sizeof(buf), &p);
        assert_true(n > 0);
        assert_int_equal(strlen(buf), (size_t)n);
        assert_int_equal(cr_sdp_parse(buf, (size_t)n, s), 0);
        assert_int_equal(s->n_media, 2);
        assert_int_equal(s->n_bundle, 2);
        for (unsigned i = 0; i < 2; i++) {
            const cr_sdp_media_t *m = &s->media[i];
            assert_int_equal(m->kind, i == 0 ? CR_SDP_AUDIO : CR_SDP_VIDEO);
            assert_int_equal(m->dir, publisher ? CR_SDP_SENDONLY : CR_SDP_RECVONLY);
            assert_true(m->rtcp_mux);
            assert_int_equal(m->n_codecs, 1);
            assert_int_equal(m->codecs[0].pt, i == 0 ? 111 : 96);
            assert_int_equal(m->codecs[0].clock_rate, i == 0 ? 48000 : 90000);
            assert_string_equal(cr_sdp_ice_ufrag(s, i), "abcd1234");
            assert_string_equal(cr_sdp_ice_pwd(s, i), "passwordpasswordpassword");
            assert_string_equal(cr_sdp_fingerprint(s, i), fp);
            assert_int_equal(cr_sdp_setup_of(s, i), CR_SDP_SETUP_ACTIVE);
            assert_int_equal(m->n_ssrcs, publisher ? 1 : 0);
            if (i == 1) {
                assert_int_equal(m->codecs[0].h264_pmode, 1);
                assert_int_equal(m->codecs[0].h264_profile_level_id, 0x42e01f);
                assert_true(m->codecs[0].fb & CR_SDP_FB_NACK);
                assert_true(m->codecs[0].fb & CR_SDP_FB_PLI);
            }
        }
        if (publisher) {
            assert_int_equal(s->media[0].ssrcs[0].ssrc, 111111);
            assert_int_equal(s->media[1].ssrcs[0].ssrc, 222222);
        }
        /* The relay accepts it in the matching role. */
        cr_sdp_answer_params_t ap = {.role = publisher ? CR_SDP_ROLE_PUBLISHER : CR_SDP_ROLE_SUBSCRIBER,
                                     .ice_ufrag = "relay123", .ice_pwd = "relaypasswordrelaypass00",
                                     .fingerprint = fp, .cand_ip = "127.0.0.1", .cand_port = 10000,
                                     .send_ssrc = {5, 6}, .cname = "relay", .stream_id = "s"};
        assert_int_equal(cr_sdp_negotiate(s, &ap, ans), 0);
        assert_int_equal(ans->media[0].port != 0 && ans->media[1].port != 0, 1);
    }
    cr_bench_offer_params_t p = {.ice_ufrag = "u", .ice_pwd = "p", .fingerprint = fp, .profile_level_id = "42e01f"};
    assert_int_equal(cr_bench_offer_write(buf, 100, &p), CR_ETOOBIG);
    p.fingerprint = NULL;
    assert_int_equal(cr_bench_offer_write(buf, sizeof(buf), &p), CR_EINVAL);
    p.fingerprint = fp;
    p.publisher = 1; /* a publisher needs a cname */
    assert_int_equal(cr_bench_offer_write(buf, sizeof(buf), &p), CR_EINVAL);
    free(s);
    free(ans);
}

/* A subscriber's offer with transport-wide cc, as browsers make it, is still accepted by the relay. */
static void test_offer_twcc(void **state)
{
    (void)state;
    char buf[8192];
    cr_sdp_t *s = calloc(1, sizeof(*s)), *ans = calloc(1, sizeof(*ans));
    for (int twcc = 0; twcc < 2; twcc++) {
        cr_bench_offer_params_t p = {.ice_ufrag = "abcd1234", .ice_pwd = "passwordpasswordpassword",
                                     .fingerprint = fp, .profile_level_id = "42e01f", .twcc = twcc};
        int n = cr_bench_offer_write(buf, sizeof(buf), &p);
        assert_true(n > 0);
        assert_int_equal(cr_sdp_parse(buf, (size_t)n, s), 0);
        for (unsigned i = 0; i < 2; i++) {
            const cr_sdp_media_t *m = &s->media[i];
            assert_int_equal(m->n_exts, (unsigned)twcc);
            if (twcc) {
                assert_int_equal(m->exts[0].id, CR_BENCH_TWCC_EXT_ID);
                assert_string_equal(m->exts[0].uri, CR_SDP_EXT_TWCC);
            }
            assert_int_equal((m->codecs[0].fb & CR_SDP_FB_TWCC) != 0, twcc);
        }
        cr_sdp_answer_params_t ap = {.role = CR_SDP_ROLE_SUBSCRIBER, .ice_ufrag = "relay123",
                                     .ice_pwd = "relaypasswordrelaypass00", .fingerprint = fp,
                                     .cand_ip = "127.0.0.1", .cand_port = 10000, .send_ssrc = {5, 6},
                                     .cname = "relay", .stream_id = "s"};
        assert_int_equal(cr_sdp_negotiate(s, &ap, ans), 0);
    }
    free(s);
    free(ans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),     cmocka_unit_test(test_gaps_and_recovery),
        cmocka_unit_test(test_big_jump),     cmocka_unit_test(test_report_block),
        cmocka_unit_test(test_jitter),       cmocka_unit_test(test_hist),
        cmocka_unit_test(test_offer),        cmocka_unit_test(test_offer_twcc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
