/*
 * The load generator's transport-cc feedback (cr_bench_twcc): arrivals recorded with gaps, reordering,
 * duplicates and the 16-bit wrap, feedback built and read back with the relay's own parser
 * (cr_rtcp_twcc_parse), checking numbers, received flags and the arrival times the deltas rebuild;
 * and the subscriber learning the extension's id from the relay's answer, or that there is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr_bench_peer.h"
#include "cr_bench_twcc.h"
#include "cr_err.h"
#include "cr_rtcp.h"
#include "cr_sdp.h"

#define T0 5000000000ull /* an arrival clock well away from zero, in us */

/* One feedback read back: the header, and per packet its number, flag and rebuilt arrival time. */
typedef struct fb {
    cr_rtcp_twcc_t hdr;
    uint32_t sender, media;
    unsigned n;
    uint16_t seq[CR_BENCH_TWCC_RING];
    int received[CR_BENCH_TWCC_RING];
    int64_t at_us[CR_BENCH_TWCC_RING]; /* reference time + running sum of deltas; -1 if lost */
    int64_t clock_us;
} fb_t;

static void fb_cb(void *arg, uint16_t seq, int received, int32_t delta_250us)
{
    fb_t *f = arg;
    assert_true(f->n < CR_BENCH_TWCC_RING);
    f->seq[f->n] = seq;
    f->received[f->n] = received;
    if (received)
        f->clock_us += (int64_t)delta_250us * 250;
    f->at_us[f->n] = received ? f->clock_us : -1;
    f->n++;
}

/* Builds the next feedback from t and parses it into f; returns the length. */
static int build(cr_bench_twcc_t *t, fb_t *f)
{
    uint8_t buf[4096];
    int len = cr_bench_twcc_build(t, buf, sizeof(buf), 0xAAAA, 0xBBBB);
    memset(f, 0, sizeof(*f));
    if (len <= 0)
        return len;
    const uint8_t *p = buf;
    cr_rtcp_pkt_t pkt;
    assert_int_equal(cr_rtcp_next(&p, buf + len, &pkt), 1);
    assert_ptr_equal(p, buf + len);
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &f->sender, &f->media), 0);
    assert_int_equal(f->sender, 0xAAAA);
    assert_int_equal(f->media, 0xBBBB);
    /* The parser reports the header before any status, so the clock can start from it. */
    cr_rtcp_twcc_t h;
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &h, NULL, NULL), 0);
    f->clock_us = (int64_t)(h.reference_time & 0xFFFFFF) * 64000;
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &f->hdr, fb_cb, f), 0);
    assert_int_equal(f->n, f->hdr.status_count);
    return len;
}

/* The arrival as the feedback can carry it: truncated to 250 us, and the 24-bit reference time. */
static int64_t carried(uint64_t arrival_us)
{
    uint64_t period = (uint64_t)64000 << 24;
    return (int64_t)((arrival_us / 250 * 250) % period);
}

static void expect(const fb_t *f, unsigned i, uint16_t seq, int received, uint64_t arrival_us)
{
    assert_true(i < f->n);
    assert_int_equal(f->seq[i], seq);
    assert_int_equal(f->received[i], received);
    if (received)
        assert_int_equal(f->at_us[i], carried(arrival_us));
}

static void test_gaps_in_order(void **state)
{
    (void)state;
    static cr_bench_twcc_t t;
    static fb_t f;
    cr_bench_twcc_init(&t);
    assert_int_equal(build(&t, &f), 0); /* nothing yet */
    const uint16_t seqs[] = {100, 101, 103, 104, 107};
    for (unsigned k = 0; k < 5; k++)
        cr_bench_twcc_record(&t, seqs[k], T0 + 1234 + k * 1100);
    assert_int_equal(cr_bench_twcc_pending(&t), 5);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.hdr.base_seq, 100);
    assert_int_equal(f.hdr.status_count, 8);
    assert_int_equal(f.hdr.fb_pkt_count, 0);
    expect(&f, 0, 100, 1, T0 + 1234);
    expect(&f, 1, 101, 1, T0 + 2334);
    expect(&f, 2, 102, 0, 0);
    expect(&f, 3, 103, 1, T0 + 3434);
    expect(&f, 4, 104, 1, T0 + 4534);
    expect(&f, 5, 105, 0, 0);
    expect(&f, 6, 106, 0, 0);
    expect(&f, 7, 107, 1, T0 + 5634);
    assert_int_equal(cr_bench_twcc_pending(&t), 0);
    assert_int_equal(build(&t, &f), 0);
    /* 102 arrives after it was reported lost: ignored. So is a duplicate of what is pending. */
    cr_bench_twcc_record(&t, 102, T0 + 9000);
    assert_int_equal(t.late, 1);
    cr_bench_twcc_record(&t, 109, T0 + 10000);
    cr_bench_twcc_record(&t, 109, T0 + 10100);
    assert_int_equal(t.duplicate, 1);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.hdr.base_seq, 108); /* the first number not reported yet */
    assert_int_equal(f.hdr.fb_pkt_count, 1);
    assert_int_equal(f.n, 2);
    expect(&f, 0, 108, 0, 0);
    expect(&f, 1, 109, 1, T0 + 10000);
    assert_int_equal(t.recorded, 6);
    assert_int_equal(t.built, 2);
}

static void test_reorder_and_wrap(void **state)
{
    (void)state;
    static cr_bench_twcc_t t;
    static fb_t f;
    cr_bench_twcc_init(&t);
    /* 65533 first; 65532 comes later, before anything is reported, but precedes the first: ignored. */
    cr_bench_twcc_record(&t, 65533, T0);
    cr_bench_twcc_record(&t, 65532, T0 + 100);
    assert_int_equal(t.late, 1);
    /* Across the wrap, out of order: 1 arrives before 65535 and 0; 2 is lost; 3 arrives last. */
    cr_bench_twcc_record(&t, 65534, T0 + 1000);
    cr_bench_twcc_record(&t, 1, T0 + 2000);
    cr_bench_twcc_record(&t, 65535, T0 + 2600);
    cr_bench_twcc_record(&t, 0, T0 + 2700);
    cr_bench_twcc_record(&t, 4, T0 + 3000);
    cr_bench_twcc_record(&t, 3, T0 + 40000);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.hdr.base_seq, 65533);
    assert_int_equal(f.n, 8);
    expect(&f, 0, 65533, 1, T0);
    expect(&f, 1, 65534, 1, T0 + 1000);
    expect(&f, 2, 65535, 1, T0 + 2600);
    expect(&f, 3, 0, 1, T0 + 2700);
    expect(&f, 4, 1, 1, T0 + 2000); /* negative delta from 0 */
    expect(&f, 5, 2, 0, 0);
    expect(&f, 6, 3, 1, T0 + 40000);
    expect(&f, 7, 4, 1, T0 + 3000); /* negative and large */
    /* Around the wrap again, many times, one feedback at a time. */
    uint16_t s = 5;
    for (unsigned round = 0; round < 300; round++) {
        for (unsigned k = 0; k < 250; k++, s++)
            cr_bench_twcc_record(&t, s, T0 + 100000 + round * 100000 + k * 300);
        assert_true(build(&t, &f) > 0);
        assert_int_equal(f.n, 250);
        assert_int_equal(f.hdr.base_seq, (uint16_t)(s - 250));
        assert_int_equal(f.hdr.fb_pkt_count, (uint8_t)(round + 1));
        expect(&f, 249, (uint16_t)(s - 1), 1, T0 + 100000 + round * 100000 + 249 * 300);
    }
    assert_int_equal(t.late, 1);
    assert_int_equal(t.overflow, 0);
}

static void test_ring_overflow(void **state)
{
    (void)state;
    static cr_bench_twcc_t t;
    static fb_t f;
    cr_bench_twcc_init(&t);
    /* More than the ring between two feedbacks: what fits is reported, the rest counted. */
    for (unsigned k = 0; k < CR_BENCH_TWCC_RING + 10; k++)
        cr_bench_twcc_record(&t, (uint16_t)(60000 + k), T0 + k * 100);
    assert_int_equal(t.overflow, 10);
    assert_int_equal(cr_bench_twcc_pending(&t), CR_BENCH_TWCC_RING);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.n, CR_BENCH_TWCC_RING);
    expect(&f, 0, 60000, 1, T0);
    expect(&f, CR_BENCH_TWCC_RING - 1, (uint16_t)(60000 + CR_BENCH_TWCC_RING - 1), 1,
           T0 + (CR_BENCH_TWCC_RING - 1) * 100);
    /* The next feedback reports the 10 not stored as lost. */
    uint16_t next = (uint16_t)(60000 + CR_BENCH_TWCC_RING + 10);
    cr_bench_twcc_record(&t, next, T0 + 200000);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.n, 11);
    expect(&f, 0, (uint16_t)(next - 10), 0, 0);
    expect(&f, 10, next, 1, T0 + 200000);
    /* With nothing pending, a jump beyond the ring restarts the window at the new number. */
    cr_bench_twcc_record(&t, (uint16_t)(next + 5000), T0 + 300000);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.n, 1);
    expect(&f, 0, (uint16_t)(next + 5000), 1, T0 + 300000);
}

static void test_split_on_large_delta(void **state)
{
    (void)state;
    static cr_bench_twcc_t t;
    static fb_t f;
    cr_bench_twcc_init(&t);
    /* 10 s between two packets does not fit a 16-bit delta of 250 us: two feedbacks. */
    cr_bench_twcc_record(&t, 7, T0);
    cr_bench_twcc_record(&t, 9, T0 + 10000000);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.n, 2);
    expect(&f, 0, 7, 1, T0);
    expect(&f, 1, 8, 0, 0);
    assert_int_equal(cr_bench_twcc_pending(&t), 1);
    assert_true(build(&t, &f) > 0);
    assert_int_equal(f.hdr.base_seq, 9);
    assert_int_equal(f.n, 1);
    expect(&f, 0, 9, 1, T0 + 10000000);
    assert_int_equal(f.hdr.reference_time, (int32_t)((T0 + 10000000) / 64000 % (1 << 24)));
    assert_int_equal(cr_bench_twcc_pending(&t), 0);
}

static void test_too_small_buffer(void **state)
{
    (void)state;
    static cr_bench_twcc_t t;
    static fb_t f;
    uint8_t buf[16];
    cr_bench_twcc_init(&t);
    cr_bench_twcc_record(&t, 1, T0);
    assert_int_equal(cr_bench_twcc_build(&t, buf, sizeof(buf), 1, 2), CR_ETOOBIG);
    assert_int_equal(cr_bench_twcc_pending(&t), 1); /* nothing was reported */
    assert_int_equal(t.fb_count, 0);
    assert_true(build(&t, &f) > 0);
    expect(&f, 0, 1, 1, T0);
}

static const char fp[] = "sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

/* A child process that answers one HTTP request on lfd with resp, after reading the whole request. */
static pid_t serve_once(int lfd, const char *resp)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    int c = accept(lfd, NULL, NULL);
    static char req[65536];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
        if (n <= 0)
            _exit(1);
        got += (size_t)n;
        req[got] = '\0';
        char *end = strstr(req, "\r\n\r\n"), *cl = strstr(req, "Content-Length: ");
        if (end != NULL && cl != NULL && got >= (size_t)(end + 4 - req) + strtoul(cl + 16, NULL, 10))
            break;
    }
    size_t len = strlen(resp);
    _exit(write(c, resp, len) == (ssize_t)len ? 0 : 1);
}

/* Negotiates our offer (with transport-wide cc) against an answer that keeps it or not. */
static uint8_t answer_ext_id(int keep)
{
    char offer[8192], sdp[8192], err[256];
    static char resp[9000];
    cr_sdp_t *s = calloc(1, sizeof(*s)), *ans = calloc(1, sizeof(*ans));
    cr_bench_peer_t peer = {0};
    assert_int_equal(cr_bench_peer_open(&peer, 0), 0);
    cr_bench_offer_params_t op = {.ice_ufrag = peer.ufrag, .ice_pwd = peer.pwd, .fingerprint = fp,
                                  .profile_level_id = "42e01f", .twcc = 1};
    int n = cr_bench_offer_write(offer, sizeof(offer), &op);
    assert_true(n > 0);
    /*
     * The relay's own negotiation, then the extension put in or taken out whatever its policy: a relay
     * that sends the extension keeps the offer's id, one that does not (main today) leaves it out.
     */
    assert_int_equal(cr_sdp_parse(offer, (size_t)n, s), 0);
    cr_sdp_answer_params_t ap = {.role = CR_SDP_ROLE_SUBSCRIBER, .ice_ufrag = "relay123",
                                 .ice_pwd = "relaypasswordrelaypass00", .fingerprint = fp,
                                 .cand_ip = "127.0.0.1", .cand_port = 10000, .send_ssrc = {5, 6},
                                 .cname = "relay", .stream_id = "s"};
    assert_int_equal(cr_sdp_negotiate(s, &ap, ans), 0);
    for (unsigned i = 0; i < ans->n_media; i++) {
        cr_sdp_media_t *m = &ans->media[i];
        unsigned k = 0;
        for (unsigned j = 0; j < m->n_exts; j++)
            if (strcmp(m->exts[j].uri, CR_SDP_EXT_TWCC) != 0)
                m->exts[k++] = m->exts[j];
        m->n_exts = k;
        if (keep) {
            assert_true(k < CR_SDP_MAX_EXTS);
            m->exts[k].id = CR_BENCH_TWCC_EXT_ID;
            snprintf(m->exts[k].uri, sizeof(m->exts[k].uri), "%s", CR_SDP_EXT_TWCC);
            m->n_exts++;
        }
    }
    int alen = cr_sdp_write(ans, sdp, sizeof(sdp));
    assert_true(alen > 0);
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: /whep/r/1\r\n"
             "Content-Length: %d\r\nConnection: close\r\n\r\n%s", alen, sdp);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen2 = sizeof(a);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen2), 0);
    pid_t pid = serve_once(lfd, resp);
    cr_bench_url_t url;
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%u/whep/c", ntohs(a.sin_port));
    assert_int_equal(cr_bench_url_parse(u, &url), 0);
    int r = cr_bench_peer_negotiate(&peer, &url, offer, (size_t)n, 5000, err, sizeof(err));
    int st;
    waitpid(pid, &st, 0);
    close(lfd);
    assert_int_equal(r, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    uint8_t id = peer.twcc_ext_id;
    cr_bench_peer_close(&peer, NULL, 0);
    free(s);
    free(ans);
    return id;
}

static void test_answer_ext_id(void **state)
{
    (void)state;
    assert_int_equal(answer_ext_id(1), CR_BENCH_TWCC_EXT_ID);
    /* An answer without the extension (today's relay): no feedback will be sent. */
    assert_int_equal(answer_ext_id(0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaps_in_order),
        cmocka_unit_test(test_reorder_and_wrap),
        cmocka_unit_test(test_ring_overflow),
        cmocka_unit_test(test_split_on_large_delta),
        cmocka_unit_test(test_too_small_buffer),
        cmocka_unit_test(test_answer_ext_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
