/*
 * cr_srtp against libsrtp2, the reference implementation the relay used before (test-only
 * dependency). For both profiles, RTP and RTCP: the same plaintext under the same key gives the same
 * bytes from both, each side unprotects what the other protected, across a sequence-number rollover
 * and with reordering, and both agree on replays, retransmissions and forgeries. Last, the packet path
 * is checked to call neither malloc nor a lock (counted by wrappers in this executable).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include "cr_err.h"
#include "cr_srtp.h"

#define BUF_CAP (1500 + CR_SRTP_MAX_TRAILER)

static const enum cr_srtp_profile profiles[] = {CR_SRTP_AES128_CM_SHA1_80, CR_SRTP_AEAD_AES_128_GCM};

/* --- libsrtp sessions set up as the relay's old wrapper did --- */

static srtp_t ref_new(enum cr_srtp_profile prof, srtp_ssrc_type_t type, const uint8_t *key,
                      int rtcp_auth_only)
{
    uint8_t k[64];
    memcpy(k, key, sizeof(k));
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    if (prof == CR_SRTP_AES128_CM_SHA1_80) {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    }
    if (rtcp_auth_only)
        pol.rtcp.sec_serv = sec_serv_auth; /* SRTCP with E = 0 */
    pol.ssrc.type = type;
    pol.key = k;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 1;
    srtp_t s = NULL;
    assert_int_equal(srtp_create(&s, &pol), srtp_err_status_ok);
    return s;
}

static int ref_protect(srtp_t s, uint8_t *buf, size_t *len, int rtcp)
{
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_protect_rtcp(s, buf, &n) : srtp_protect(s, buf, &n);
    *len = (size_t)n;
    return (int)st;
}

static int ref_unprotect(srtp_t s, uint8_t *buf, size_t *len, int rtcp)
{
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s, buf, &n) : srtp_unprotect(s, buf, &n);
    *len = (size_t)n;
    return (int)st;
}

/*
 * One call's worth of sessions under keys ka (our side sends) and kb (the other side sends):
 * ours: cr_srtp (tx ka, rx kb); ref_tx: libsrtp sending under ka, to compare our bytes with;
 * ref_rx: libsrtp receiving under ka; ref_peer: libsrtp sending under kb, towards ours.
 */
struct world {
    cr_srtp_t *ours;
    srtp_t ref_tx, ref_rx, ref_peer;
};

static void world_new(struct world *w, enum cr_srtp_profile prof, int rtcp_auth_only)
{
    uint8_t ka[64], kb[64];
    for (int i = 0; i < 64; i++) {
        ka[i] = (uint8_t)(0x31 + i * 13);
        kb[i] = (uint8_t)(0xc4 ^ (i * 29));
    }
    assert_int_equal(cr_srtp_new(&w->ours, prof, ka, kb), 0);
    w->ref_tx = ref_new(prof, ssrc_any_outbound, ka, 0);
    w->ref_rx = ref_new(prof, ssrc_any_inbound, ka, 0);
    w->ref_peer = ref_new(prof, ssrc_any_outbound, kb, rtcp_auth_only);
}

static void world_free(struct world *w)
{
    cr_srtp_free(w->ours);
    srtp_dealloc(w->ref_tx);
    srtp_dealloc(w->ref_rx);
    srtp_dealloc(w->ref_peer);
}

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* An RTP packet; every fourth carries CSRCs and an RFC 8285 header extension. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
    size_t hl = 12;
    buf[0] = 0x80;
    buf[1] = 96;
    if (seq % 4 == 0) {
        buf[0] = 0x92; /* X, two CSRCs */
        const uint8_t more[] = {0, 0, 0, 7, 0, 0, 0, 8, 0xbe, 0xde, 0, 1, 0x12, 0x34, 0x56, 0};
        memcpy(buf + 12, more, sizeof(more));
        hl += sizeof(more);
    }
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)((uint32_t)seq * 90u >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    for (size_t i = 0; i < payload; i++)
        buf[hl + i] = (uint8_t)rng();
    return hl + payload;
}

/* A sender report header with a random body of words (RFC 3550 section 6.4.1). */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc, size_t words)
{
    buf[0] = 0x80;
    buf[1] = 200;
    buf[2] = (uint8_t)(words >> 8);
    buf[3] = (uint8_t)words;
    for (int i = 0; i < 4; i++)
        buf[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (size_t i = 0; i < words * 4; i++)
        buf[8 + i] = (uint8_t)rng();
    return 8 + words * 4;
}

/*
 * One packet from our side: cr_srtp and libsrtp under the same key must produce the same bytes, and
 * libsrtp's receiver must take ours back to the plaintext.
 */
static void ours_to_ref(struct world *w, const uint8_t *plain, size_t plen, int rtcp)
{
    uint8_t a[BUF_CAP], b[BUF_CAP];
    size_t la = plen, lb = plen;
    memcpy(a, plain, plen);
    memcpy(b, plain, plen);
    assert_int_equal(rtcp ? cr_srtp_protect_rtcp(w->ours, a, &la, sizeof(a))
                          : cr_srtp_protect(w->ours, a, &la, sizeof(a)),
                     0);
    assert_int_equal(ref_protect(w->ref_tx, b, &lb, rtcp), srtp_err_status_ok);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(ref_unprotect(w->ref_rx, a, &la, rtcp), srtp_err_status_ok);
    assert_int_equal(la, plen);
    assert_memory_equal(a, plain, plen);
}

/* One packet from the other side: libsrtp protects, cr_srtp unprotects. */
static void ref_to_ours(struct world *w, const uint8_t *plain, size_t plen, int rtcp)
{
    uint8_t a[BUF_CAP];
    size_t la = plen;
    memcpy(a, plain, plen);
    assert_int_equal(ref_protect(w->ref_peer, a, &la, rtcp), srtp_err_status_ok);
    assert_int_equal(rtcp ? cr_srtp_unprotect_rtcp(w->ours, a, &la) : cr_srtp_unprotect(w->ours, a, &la), 0);
    assert_int_equal(la, plen);
    assert_memory_equal(a, plain, plen);
}

static void test_rtp_both_ways(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        struct world w;
        world_new(&w, profiles[p], 0);
        uint8_t plain[BUF_CAP];
        /* Two SSRCs, 3000 packets each from 65000: through the rollover (ROC 0 -> 1). */
        for (uint32_t i = 65000; i < 65000 + 3000; i++) {
            for (uint32_t ssrc = 0xaaaa0001u; ssrc <= 0xaaaa0002u; ssrc++) {
                size_t plen = make_rtp(plain, (uint16_t)i, ssrc, rng() % 1400);
                ours_to_ref(&w, plain, plen, 0);
                ref_to_ours(&w, plain, plen, 0);
            }
        }
        world_free(&w);
    }
}

static void test_rtcp_both_ways(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        for (int auth_only = 0; auth_only <= 1; auth_only++) {
            struct world w;
            world_new(&w, profiles[p], auth_only); /* auth_only: the other side sends E = 0 */
            uint8_t plain[BUF_CAP];
            size_t plen = make_rtcp(plain, 0xbbbb0003u, 4);
            assert_int_equal(ref_protect(w.ref_peer, plain, &plen, 1), srtp_err_status_ok);
            size_t eidx_at = profiles[p] == CR_SRTP_AEAD_AES_128_GCM ? plen - 4 : plen - 14;
            assert_int_equal(plain[eidx_at] >> 7, !auth_only);
            assert_int_equal(cr_srtp_unprotect_rtcp(w.ours, plain, &plen), 0);
            for (int i = 0; i < 300; i++) {
                for (uint32_t ssrc = 0xbbbb0001u; ssrc <= 0xbbbb0002u; ssrc++) {
                    plen = make_rtcp(plain, ssrc, rng() % 60);
                    ours_to_ref(&w, plain, plen, 1);
                    ref_to_ours(&w, plain, plen, 1);
                }
            }
            world_free(&w);
        }
    }
}

/* Delivery out of order across the rollover, both ways: each packet is held back by up to 40. */
static void test_reorder_across_rollover(void **state)
{
    (void)state;
    enum { N = 600 };
    static uint8_t pkt[N][BUF_CAP], plain[N][BUF_CAP];
    static size_t len[N], plen[N];
    unsigned order[N];
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        struct world w;
        world_new(&w, profiles[p], 0);
        for (unsigned i = 0; i < N; i++)
            order[i] = i;
        for (unsigned i = 0; i + 1 < N; i++) {
            unsigned j = i + rng() % 40;
            if (j < N) {
                unsigned t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        /* libsrtp sends in order, cr_srtp receives shuffled; then every one again is a replay. */
        for (unsigned i = 0; i < N; i++) {
            plen[i] = make_rtp(plain[i], (uint16_t)(65300 + i), 0xcccc0001u, 100 + i);
            len[i] = plen[i];
            memcpy(pkt[i], plain[i], plen[i]);
            assert_int_equal(ref_protect(w.ref_peer, pkt[i], &len[i], 0), srtp_err_status_ok);
        }
        uint8_t copy[BUF_CAP];
        for (unsigned k = 0; k < N; k++) {
            unsigned i = order[k];
            size_t l = len[i];
            memcpy(copy, pkt[i], l);
            assert_int_equal(cr_srtp_unprotect(w.ours, copy, &l), 0);
            assert_int_equal(l, plen[i]);
            assert_memory_equal(copy, plain[i], l);
        }
        for (unsigned i = 0; i < N; i++)
            assert_int_equal(cr_srtp_unprotect(w.ours, pkt[i], &len[i]), CR_EREPLAY);
        /* cr_srtp sends shuffled (as retransmissions and pacing may), libsrtp receives. */
        for (unsigned k = 0; k < N; k++) {
            unsigned i = order[k];
            plen[i] = make_rtp(plain[i], (uint16_t)(65300 + i), 0xcccc0002u, 50);
            size_t l = plen[i];
            memcpy(copy, plain[i], l);
            assert_int_equal(cr_srtp_protect(w.ours, copy, &l, sizeof(copy)), 0);
            assert_int_equal(ref_unprotect(w.ref_rx, copy, &l, 0), srtp_err_status_ok);
            assert_memory_equal(copy, plain[i], plen[i]);
        }
        world_free(&w);
    }
}

static void test_replay_and_repeat(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        struct world w;
        world_new(&w, profiles[p], 0);
        uint8_t a[BUF_CAP], b[BUF_CAP], c[BUF_CAP];
        for (int rtcp = 0; rtcp <= 1; rtcp++) {
            /* From libsrtp: cr_srtp takes a packet once. */
            size_t la = rtcp ? make_rtcp(a, 0xdddd0001u, 6) : make_rtp(a, 500, 0xdddd0001u, 300);
            assert_int_equal(ref_protect(w.ref_peer, a, &la, rtcp), srtp_err_status_ok);
            size_t lb = la;
            memcpy(b, a, la);
            assert_int_equal(
                rtcp ? cr_srtp_unprotect_rtcp(w.ours, a, &la) : cr_srtp_unprotect(w.ours, a, &la), 0);
            assert_int_equal(rtcp ? cr_srtp_unprotect_rtcp(w.ours, b, &lb)
                                  : cr_srtp_unprotect(w.ours, b, &lb),
                             CR_EREPLAY);
            /* From cr_srtp: libsrtp takes a packet once. */
            la = rtcp ? make_rtcp(a, 0xdddd0002u, 6) : make_rtp(a, 501, 0xdddd0002u, 300);
            assert_int_equal(rtcp ? cr_srtp_protect_rtcp(w.ours, a, &la, sizeof(a))
                                  : cr_srtp_protect(w.ours, a, &la, sizeof(a)),
                             0);
            lb = la;
            memcpy(b, a, la);
            assert_int_equal(ref_unprotect(w.ref_rx, a, &la, rtcp), srtp_err_status_ok);
            assert_int_equal(ref_unprotect(w.ref_rx, b, &lb, rtcp), srtp_err_status_replay_fail);
        }
        /* allow_repeat_tx: a resent RTP packet is the same bytes from both implementations, and
         * libsrtp's receiver sees the second copy as a replay. */
        size_t la = make_rtp(a, 700, 0xdddd0003u, 400), lb = la, lc = la;
        memcpy(b, a, la);
        memcpy(c, a, la);
        assert_int_equal(cr_srtp_protect(w.ours, a, &la, sizeof(a)), 0);
        assert_int_equal(cr_srtp_protect(w.ours, b, &lb, sizeof(b)), 0);
        assert_int_equal(ref_protect(w.ref_tx, c, &lc, 0), srtp_err_status_ok);
        assert_memory_equal(a, b, la);
        assert_memory_equal(a, c, la);
        assert_int_equal(ref_unprotect(w.ref_rx, a, &la, 0), srtp_err_status_ok);
        assert_int_equal(ref_unprotect(w.ref_rx, b, &lb, 0), srtp_err_status_replay_fail);
        world_free(&w);
    }
}

/* Flipping any one bit of a protected packet makes the other implementation refuse it. */
static void test_forgeries(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        struct world w;
        world_new(&w, profiles[p], 0);
        uint8_t a[BUF_CAP], t[BUF_CAP];
        uint16_t seq = 1;
        for (int rtcp = 0; rtcp <= 1; rtcp++) {
            for (int from_ours = 0; from_ours <= 1; from_ours++) {
                size_t la = rtcp ? make_rtcp(a, 0xeeee0001u, 8) : make_rtp(a, seq, 0xeeee0001u, 60);
                if (from_ours)
                    assert_int_equal(rtcp ? cr_srtp_protect_rtcp(w.ours, a, &la, sizeof(a))
                                          : cr_srtp_protect(w.ours, a, &la, sizeof(a)),
                                     0);
                else
                    assert_int_equal(ref_protect(w.ref_peer, a, &la, rtcp), srtp_err_status_ok);
                /* Every bit past the SSRC (the header's first bytes pick the SSRC and index). */
                for (size_t bit = (rtcp ? 8 : 12) * 8; bit < la * 8; bit += 7) {
                    size_t lt = la;
                    memcpy(t, a, la);
                    t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                    if (from_ours) {
                        int st = ref_unprotect(w.ref_rx, t, &lt, rtcp);
                        assert_true(st == srtp_err_status_auth_fail || st == srtp_err_status_replay_old ||
                                    st == srtp_err_status_replay_fail || st == srtp_err_status_parse_err ||
                                    st == srtp_err_status_bad_param);
                    } else {
                        int rc =
                            rtcp ? cr_srtp_unprotect_rtcp(w.ours, t, &lt) : cr_srtp_unprotect(w.ours, t, &lt);
                        assert_true(rc == CR_EAUTH || rc == CR_EREPLAY || rc == CR_EMALFORMED);
                    }
                }
                /* The untouched packet still passes: the forgeries changed no state. */
                if (from_ours)
                    assert_int_equal(ref_unprotect(w.ref_rx, a, &la, rtcp), srtp_err_status_ok);
                else
                    assert_int_equal(
                        rtcp ? cr_srtp_unprotect_rtcp(w.ours, a, &la) : cr_srtp_unprotect(w.ours, a, &la), 0);
                seq++;
            }
        }
        world_free(&w);
    }
}

/* --- the packet path calls no allocator and takes no lock --- */

/* The sanitizers bring their own allocator, which these wrappers would fight. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CR_COUNT_CALLS 0
#else
#define CR_COUNT_CALLS 1
#endif

static int counting;
static unsigned long n_alloc, n_lock;

#if CR_COUNT_CALLS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

/* These wrappers stand in for the C library's in every library of this process (the executable comes
 * first in the symbol search), so OpenSSL's calls are counted too. */
void *malloc(size_t n)
{
    n_alloc += counting != 0;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    n_alloc += counting != 0;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    n_alloc += counting != 0;
    return __libc_realloc(p, n);
}

static int (*real_mutex_lock)(pthread_mutex_t *);
static int (*real_rdlock)(pthread_rwlock_t *);
static int (*real_wrlock)(pthread_rwlock_t *);

int pthread_mutex_lock(pthread_mutex_t *m)
{
    n_lock += counting != 0;
    return real_mutex_lock(m);
}

int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    n_lock += counting != 0;
    return real_rdlock(l);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    n_lock += counting != 0;
    return real_wrlock(l);
}
#endif

static void test_no_alloc_no_lock(void **state)
{
    (void)state;
    if (!CR_COUNT_CALLS)
        skip();
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        uint8_t ka[64], kb[64];
        memset(ka, 0x21, sizeof(ka));
        memset(kb, 0x43, sizeof(kb));
        cr_srtp_t *a, *b;
        /* The wrappers do see OpenSSL's allocations and locks: setting up a session allocates, a
         * cipher fetch locks the provider store. */
        n_alloc = n_lock = 0;
        counting = 1;
        assert_int_equal(cr_srtp_new(&a, profiles[p], ka, kb), 0);
        EVP_CIPHER_free(EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL));
        counting = 0;
        assert_true(n_alloc > 0);
        assert_true(n_lock > 0);
        n_alloc = n_lock = 0;
        assert_int_equal(cr_srtp_new(&b, profiles[p], kb, ka), 0);
        uint8_t buf[BUF_CAP], copy[BUF_CAP];
        int fails = 0;
        counting = 1;
        for (uint32_t i = 0; i < 70000; i += 7) { /* through a rollover */
            size_t len = make_rtp(buf, (uint16_t)i, 0x01010101u + i % 2, 1200);
            fails += cr_srtp_protect(a, buf, &len, sizeof(buf)) != 0;
            size_t clen = len;
            memcpy(copy, buf, len);
            fails += cr_srtp_unprotect(b, buf, &len) != 0;
            fails += cr_srtp_unprotect(b, copy, &clen) != CR_EREPLAY;
            len = make_rtcp(buf, 0x01010101u, 20);
            fails += cr_srtp_protect_rtcp(a, buf, &len, sizeof(buf)) != 0;
            clen = len;
            memcpy(copy, buf, len);
            copy[12] ^= 1; /* in the body: a changed index could read as a replay instead */
            fails += cr_srtp_unprotect_rtcp(b, copy, &clen) != CR_EAUTH; /* failures do not allocate either */
            fails += cr_srtp_unprotect_rtcp(b, buf, &len) != 0;
        }
        counting = 0;
        assert_int_equal(fails, 0);
        assert_int_equal(n_alloc, 0);
        assert_int_equal(n_lock, 0);
        cr_srtp_free(a);
        cr_srtp_free(b);
    }
}

int main(void)
{
#if CR_COUNT_CALLS
    real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    real_rdlock = (int (*)(pthread_rwlock_t *))dlsym(RTLD_NEXT, "pthread_rwlock_rdlock");
    real_wrlock = (int (*)(pthread_rwlock_t *))dlsym(RTLD_NEXT, "pthread_rwlock_wrlock");
    if (real_mutex_lock == NULL || real_rdlock == NULL || real_wrlock == NULL)
        return 1;
#endif
    if (srtp_init() != srtp_err_status_ok)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_both_ways),
        cmocka_unit_test(test_rtcp_both_ways),
        cmocka_unit_test(test_reorder_across_rollover),
        cmocka_unit_test(test_replay_and_repeat),
        cmocka_unit_test(test_forgeries),
        cmocka_unit_test(test_no_alloc_no_lock),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    srtp_shutdown();
    return rc;
}
