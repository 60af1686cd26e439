/*
 * srtp_bench: the cost of SRTP per forwarded packet, old against new, in one run.
 *
 *   meson test -C BUILD --benchmark srtp        (or BUILD/tests/bench/srtp_bench [--packets N] [--runs R])
 *
 * For both profiles the relay negotiates, protect and unprotect of a 1200-byte-payload RTP packet
 * (12-byte header) through libsrtp2 set up as the relay's old cr_srtp was (Debian's libsrtp2 is built
 * on NSS), and through cr_srtp (OpenSSL EVP). Packets are processed in place with increasing sequence
 * numbers, one SSRC; unprotect runs over batches protected beforehand, untimed. Time is the thread's
 * CPU time, so other load on the machine costs less; each figure is the best of R runs, old and new
 * interleaved. One key=value line per profile and operation; ratio = old / new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/opensslv.h>
#include <srtp2/srtp.h>

#include "cr_srtp.h"

#define PAYLOAD 1200
#define HDR 12
#define CAP (HDR + PAYLOAD + CR_SRTP_MAX_TRAILER)
#define BATCH 256

static uint8_t batch[BATCH][CAP];
static size_t batch_len[BATCH];

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void write_header(uint8_t *p, uint16_t seq)
{
    p[0] = 0x80;
    p[1] = 96;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    uint32_t ts = (uint32_t)seq * 3000u;
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        p[8 + i] = (uint8_t)(0x5eed0001u >> (24 - 8 * i));
    }
}

/* An implementation under test: both directions of one call (tx sends under the key rx receives). */
struct impl {
    int old;
    cr_srtp_t *tx, *rx;
    srtp_t ltx, lrx;
    uint16_t seq;
};

static srtp_t old_new(enum cr_srtp_profile prof, srtp_ssrc_type_t type, const uint8_t *key)
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
    pol.ssrc.type = type;
    pol.key = k;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 1;
    srtp_t s = NULL;
    if (srtp_create(&s, &pol) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_bench: srtp_create failed\n");
        exit(1);
    }
    return s;
}

static void impl_init(struct impl *m, int old, enum cr_srtp_profile prof)
{
    uint8_t ka[64], kb[64];
    for (int i = 0; i < 64; i++) {
        ka[i] = (uint8_t)(i * 11 + 3);
        kb[i] = (uint8_t)(i * 5 + 200);
    }
    memset(m, 0, sizeof(*m));
    m->old = old;
    if (old) {
        m->ltx = old_new(prof, ssrc_any_outbound, ka);
        m->lrx = old_new(prof, ssrc_any_inbound, ka);
    } else if (cr_srtp_new(&m->tx, prof, ka, kb) != 0 || cr_srtp_new(&m->rx, prof, kb, ka) != 0) {
        fprintf(stderr, "srtp_bench: cr_srtp_new failed\n");
        exit(1);
    }
}

static void impl_dispose(struct impl *m)
{
    if (m->old) {
        srtp_dealloc(m->ltx);
        srtp_dealloc(m->lrx);
    } else {
        cr_srtp_free(m->tx);
        cr_srtp_free(m->rx);
    }
}

static int protect(struct impl *m, uint8_t *p, size_t *len)
{
    if (!m->old)
        return cr_srtp_protect(m->tx, p, len, CAP);
    int n = (int)*len;
    int rc = srtp_protect(m->ltx, p, &n);
    *len = (size_t)n;
    return rc;
}

static int unprotect(struct impl *m, uint8_t *p, size_t *len)
{
    if (!m->old)
        return cr_srtp_unprotect(m->rx, p, len);
    int n = (int)*len;
    int rc = srtp_unprotect(m->lrx, p, &n);
    *len = (size_t)n;
    return rc;
}

static void fail(const char *what)
{
    fprintf(stderr, "srtp_bench: %s failed\n", what);
    exit(1);
}

/* ns per protect over n packets. */
static double run_protect(struct impl *m, unsigned n)
{
    uint8_t *p = batch[0];
    memset(p + HDR, 0x5a, PAYLOAD);
    double t0 = cpu_ns();
    for (unsigned i = 0; i < n; i++) {
        write_header(p, ++m->seq);
        size_t len = HDR + PAYLOAD;
        if (protect(m, p, &len) != 0)
            fail("protect");
    }
    return (cpu_ns() - t0) / n;
}

/* ns per unprotect over n packets, protected (untimed) a batch at a time. */
static double run_unprotect(struct impl *m, unsigned n)
{
    double total = 0;
    for (unsigned done = 0; done < n; done += BATCH) {
        for (unsigned i = 0; i < BATCH; i++) {
            write_header(batch[i], ++m->seq);
            memset(batch[i] + HDR, (int)i, PAYLOAD);
            batch_len[i] = HDR + PAYLOAD;
            if (protect(m, batch[i], &batch_len[i]) != 0)
                fail("protect");
        }
        double t0 = cpu_ns();
        for (unsigned i = 0; i < BATCH; i++)
            if (unprotect(m, batch[i], &batch_len[i]) != 0)
                fail("unprotect");
        total += cpu_ns() - t0;
    }
    return total / (double)((n + BATCH - 1) / BATCH * BATCH);
}

int main(int argc, char **argv)
{
    unsigned n = 100000, runs = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--packets") == 0)
            n = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = (unsigned)strtoul(argv[i + 1], NULL, 10);
    }
    if (n == 0 || runs == 0 || srtp_init() != srtp_err_status_ok || cr_srtp_global_init() != 0)
        return 1;
    static const struct {
        enum cr_srtp_profile id;
        const char *name;
    } profiles[] = {{CR_SRTP_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80"},
                    {CR_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM"}};
    printf("# ns per %d-byte-payload RTP packet, CPU time, best of %u runs of %u; old = %s, new = cr_srtp on "
           "%s\n",
           PAYLOAD, runs, n, srtp_get_version_string(), OPENSSL_VERSION_TEXT);
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        for (int op = 0; op < 2; op++) {
            /* Fresh sessions per operation, so that the receivers see contiguous sequence numbers. */
            struct impl old, neu;
            impl_init(&old, 1, profiles[p].id);
            impl_init(&neu, 0, profiles[p].id);
            double best_old = 1e18, best_new = 1e18;
            for (unsigned r = 0; r < runs; r++) {
                double o = op == 0 ? run_protect(&old, n) : run_unprotect(&old, n);
                double w = op == 0 ? run_protect(&neu, n) : run_unprotect(&neu, n);
                best_old = o < best_old ? o : best_old;
                best_new = w < best_new ? w : best_new;
            }
            printf("profile=%s op=%s old_ns=%.0f new_ns=%.0f ratio=%.2f\n", profiles[p].name,
                   op == 0 ? "protect" : "unprotect", best_old, best_new, best_old / best_new);
            impl_dispose(&old);
            impl_dispose(&neu);
        }
    }
    srtp_shutdown();
    return 0;
}
