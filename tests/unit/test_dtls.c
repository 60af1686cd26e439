#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cr_clock.h"
#include "cr_dtls.h"
#include "cr_err.h"
#include "cr_srtp.h"

/* The relay's MTU is 1200; 1400 is the hard ceiling the rest of the stack assumes. */
#define MAX_DGRAM 1400

static cr_dtls_cert_t *cert_s, *cert_c, *cert_x;
static cr_dtls_ctx_t *ctx_s, *ctx_c;

/* Datagram statistics of the last pump, for the size checks and the report. */
static size_t largest;
static int dgram_count;
static int worst_rc; /* most negative cr_dtls_input result seen by transfer */

/* Asserts that a datagram is a run of whole DTLS records (RFC 6347 section 4.1). */
static void assert_whole_records(const uint8_t *p, size_t n)
{
    while (n > 0) {
        assert_true(n >= 13);
        assert_int_equal(p[1], 0xfe);
        size_t rec = 13 + ((size_t)p[11] << 8 | p[12]);
        assert_true(rec <= n);
        p += rec;
        n -= rec;
    }
}

static int group_setup(void **state)
{
    (void)state;
    if (cr_dtls_cert_new(&cert_s) != 0 || cr_dtls_cert_new(&cert_c) != 0 ||
        cr_dtls_cert_new(&cert_x) != 0)
        return -1;
    if (cr_dtls_ctx_new(&ctx_s, cert_s) != 0 || cr_dtls_ctx_new(&ctx_c, cert_c) != 0)
        return -1;
    /* The contexts hold their own references; the certificates stay readable through them. */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cr_dtls_ctx_free(ctx_s);
    cr_dtls_ctx_free(ctx_c);
    cr_dtls_cert_free(cert_s);
    cr_dtls_cert_free(cert_c);
    cr_dtls_cert_free(cert_x);
    return 0;
}

/* Moves every pending datagram from one endpoint to the other (or drops them). Returns the count. */
static int transfer(cr_dtls_t *from, cr_dtls_t *to, int drop, const char *label)
{
    uint8_t buf[2048];
    int n, moved = 0;
    while ((n = cr_dtls_output(from, buf, sizeof(buf))) > 0) {
        assert_true(n <= MAX_DGRAM);
        assert_whole_records(buf, (size_t)n);
        if ((size_t)n > largest)
            largest = (size_t)n;
        dgram_count++;
        if (label != NULL)
            print_message("  %s %d bytes%s\n", label, n, drop ? " (dropped)" : "");
        if (!drop && cr_dtls_state(to) <= CR_DTLS_CONNECTED) {
            int rc = cr_dtls_input(to, buf, (size_t)n);
            if (rc < worst_rc)
                worst_rc = rc;
        }
        moved++;
    }
    assert_int_equal(n, 0);
    return moved;
}

static void pump(cr_dtls_t *c, cr_dtls_t *s, int verbose)
{
    for (int i = 0; i < 32; i++) {
        if (verbose)
            print_message(" round %d\n", i);
        int moved = transfer(c, s, 0, verbose ? "c->s" : NULL);
        moved += transfer(s, c, 0, verbose ? "s->c" : NULL);
        if (moved == 0)
            return;
    }
    fail_msg("handshake did not settle");
}

static void endpoints(cr_dtls_t **c, cr_dtls_t **s, const char *fp_of_server, const char *fp_of_client)
{
    assert_int_equal(cr_dtls_new(s, ctx_s, 1, fp_of_client), 0);
    assert_int_equal(cr_dtls_new(c, ctx_c, 0, fp_of_server), 0);
    assert_int_equal(cr_dtls_state(*s), CR_DTLS_HANDSHAKING);
    assert_int_equal(cr_dtls_connect(*c), 0);
}

/* Protects an RTP packet with tx and checks rx restores it. */
static void srtp_round_trip(cr_srtp_t *tx, cr_srtp_t *rx, uint16_t seq)
{
    uint8_t pkt[200 + CR_SRTP_MAX_TRAILER] = {0x80, 111, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
                                              0xde, 0xad, 0xbe, 0xef};
    for (int i = 12; i < 200; i++)
        pkt[i] = (uint8_t)i;
    uint8_t ref[200];
    memcpy(ref, pkt, sizeof(ref));
    size_t len = 200;
    assert_int_equal(cr_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);
    assert_int_equal(cr_srtp_unprotect(rx, pkt, &len), 0);
    assert_int_equal(len, 200);
    assert_memory_equal(pkt, ref, 200);
}

static void test_fingerprint_format(void **state)
{
    (void)state;
    const char *fp = cr_dtls_cert_fingerprint(cert_s);
    assert_int_equal(strlen(fp), 8 + 32 * 3 - 1);
    assert_memory_equal(fp, "sha-256 ", 8);
    for (int i = 0; i < 32; i++) {
        const char *g = fp + 8 + 3 * i;
        assert_true((g[0] >= '0' && g[0] <= '9') || (g[0] >= 'A' && g[0] <= 'F'));
        assert_true((g[1] >= '0' && g[1] <= '9') || (g[1] >= 'A' && g[1] <= 'F'));
        assert_true(i == 31 ? g[2] == '\0' : g[2] == ':');
    }
    assert_string_not_equal(fp, cr_dtls_cert_fingerprint(cert_c));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    cr_dtls_t *d = NULL;
    const char *fp = cr_dtls_cert_fingerprint(cert_c);
    char lower[128];
    snprintf(lower, sizeof(lower), "SHA-256 %s", fp + 8);
    for (char *p = lower + 8; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    assert_int_equal(cr_dtls_new(&d, ctx_s, 1, lower), 0); /* case-insensitive (RFC 8122) */
    assert_int_equal(cr_dtls_connect(d), CR_ESTATE);        /* the server never connects */
    uint8_t buf[8];
    assert_int_equal(cr_dtls_output(d, buf, sizeof(buf)), 0);
    enum cr_srtp_profile prof;
    uint8_t lk[64], rk[64];
    assert_int_equal(cr_dtls_srtp_keys(d, &prof, lk, rk), CR_ESTATE);
    cr_dtls_free(d);
    cr_dtls_free(NULL);

    char shortfp[64];
    snprintf(shortfp, sizeof(shortfp), "%.40s", fp);
    const char *bad[] = {
        "", "sha-256", "sha-256 ", shortfp, "sha-256 zz:00",
        "md5 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = (cr_dtls_t *)0x1;
        int rc = cr_dtls_new(&d, ctx_s, 1, bad[i]);
        assert_true(rc == CR_EINVAL || rc == CR_EUNSUPPORTED);
        assert_null(d);
    }
    char longfp[160];
    snprintf(longfp, sizeof(longfp), "%s:00", fp);
    assert_int_equal(cr_dtls_new(&d, ctx_s, 1, longfp), CR_EINVAL);
    assert_int_equal(cr_dtls_new(&d, ctx_s, 1, NULL), CR_EINVAL);
}

static void test_handshake_and_keys(void **state)
{
    (void)state;
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));
    largest = 0;
    dgram_count = 0;
    print_message("handshake datagrams (client first):\n");
    pump(c, s, 1);
    print_message("%d datagrams, largest %zu bytes\n", dgram_count, largest);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_CONNECTED);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);
    assert_true(largest <= 1200);

    enum cr_srtp_profile pc, ps;
    uint8_t cl[64], cr[64], sl[64], sr[64];
    assert_int_equal(cr_dtls_srtp_keys(c, &pc, cl, cr), 0);
    assert_int_equal(cr_dtls_srtp_keys(s, &ps, sl, sr), 0);
    assert_int_equal(pc, CR_SRTP_AEAD_AES_128_GCM); /* both offer GCM first */
    assert_int_equal(ps, pc);
    size_t kl = cr_srtp_key_len(pc) + cr_srtp_salt_len(pc);
    assert_memory_equal(cl, sr, kl);
    assert_memory_equal(cr, sl, kl);
    assert_memory_not_equal(cl, cr, kl);

    cr_srtp_t *sc, *ss;
    assert_int_equal(cr_srtp_new(&sc, pc, cl, cr), 0);
    assert_int_equal(cr_srtp_new(&ss, ps, sl, sr), 0);
    srtp_round_trip(sc, ss, 1);
    srtp_round_trip(ss, sc, 1);
    cr_srtp_free(sc);
    cr_srtp_free(ss);

    /* No timer is needed once connected on the client; garbage after the handshake is rejected
     * without disturbing the association. */
    uint8_t junk[40];
    memset(junk, 0x17, sizeof(junk));
    assert_true(cr_dtls_input(s, junk, sizeof(junk)) < 0);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);
}

static void test_fingerprint_mismatch(void **state)
{
    (void)state;
    /* The client expects some other server. */
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_x), cr_dtls_cert_fingerprint(cert_c));
    worst_rc = 0;
    transfer(c, s, 0, NULL);
    transfer(s, c, 0, NULL);
    assert_int_equal(worst_rc, CR_EAUTH); /* the server's Certificate is refused */
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_FAILED);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_FAILED); /* told by the bad_certificate alert */
    enum cr_srtp_profile prof;
    uint8_t lk[64], rk[64];
    assert_int_equal(cr_dtls_srtp_keys(c, &prof, lk, rk), CR_ESTATE);
    uint8_t rec[13] = {22, 0xfe, 0xfd};
    assert_int_equal(cr_dtls_input(c, rec, sizeof(rec)), CR_ESTATE);
    cr_dtls_free(c);
    cr_dtls_free(s);

    /* The server expects some other client. */
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_x));
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_FAILED);
    assert_int_not_equal(cr_dtls_state(c), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);
}

static void test_garbage(void **state)
{
    (void)state;
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));

    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    assert_true(cr_dtls_input(s, junk, sizeof(junk)) < 0);
    assert_true(cr_dtls_input(s, junk, 5) < 0);
    assert_true(cr_dtls_input(s, junk, 0) < 0);
    /* A length running past the datagram is malformed. */
    junk[0] = 22;
    junk[1] = 0xfe;
    junk[2] = 0xfd;
    memset(junk + 3, 0, 8);
    junk[11] = 0;
    junk[12] = 200;
    assert_int_equal(cr_dtls_input(s, junk, 113), CR_EMALFORMED);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_HANDSHAKING);

    /* After structural garbage the server is intact and completes the handshake. */
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);

    /*
     * Well-formed records around random bodies, fed to a fresh server and to a client waiting for the
     * server's flight: OpenSSL may ignore them or fail the handshake (a malformed handshake message is
     * fatal, RFC 5246 section 7.2.2), but never crash or leak.
     */
    for (int round = 0; round < 100; round++) {
        int server = round % 2 == 0;
        cr_dtls_t *d;
        assert_int_equal(cr_dtls_new(&d, server ? ctx_s : ctx_c, server,
                                     cr_dtls_cert_fingerprint(server ? cert_c : cert_s)),
                         0);
        if (!server)
            assert_int_equal(cr_dtls_connect(d), 0);
        size_t body = (size_t)(round * 2 + 1);
        junk[0] = (uint8_t)(20 + round % 4);
        junk[11] = 0;
        junk[12] = (uint8_t)body;
        assert_int_equal(cr_random_bytes(junk + 13, (int)body), 0);
        if (round % 3 == 0) {
            junk[13] = 1; /* ClientHello type with a random length and fragment */
        }
        int rc = cr_dtls_input(d, junk, 13 + body);
        assert_true(rc < 0 || rc == CR_DTLS_HANDSHAKING || rc == CR_DTLS_FAILED);
        uint8_t out[2048];
        while (cr_dtls_output(d, out, sizeof(out)) > 0)
            ;
        cr_dtls_free(d);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_retransmission(void **state)
{
    (void)state;
    uint64_t t0 = cr_now_us();
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));
    assert_true(cr_dtls_next_timeout_us(c, cr_now_us()) > 0);
    assert_int_equal(transfer(c, s, 0, NULL), 1); /* ClientHello arrives */
    assert_true(transfer(s, c, 1, NULL) >= 1);    /* the server's whole first flight is lost */
    assert_int_equal(transfer(c, s, 0, NULL), 0);

    uint64_t now = cr_now_us();
    uint64_t dc = cr_dtls_next_timeout_us(c, now), ds = cr_dtls_next_timeout_us(s, now);
    assert_true(dc > now && dc <= now + 150000); /* the 100 ms initial timer */
    assert_true(ds > now && ds <= now + 150000);

    /* Too early: nothing to resend (checked only if this thread was not descheduled meanwhile). */
    assert_int_equal(cr_dtls_handle_timeout(s, now), CR_DTLS_HANDSHAKING);
    if (cr_now_us() - t0 < 60000)
        assert_int_equal(transfer(s, c, 1, NULL), 0);
    transfer(s, c, 1, NULL);

    sleep_ms(130);
    now = cr_now_us();
    assert_int_equal(cr_dtls_handle_timeout(c, now), CR_DTLS_HANDSHAKING);
    assert_int_equal(cr_dtls_handle_timeout(s, now), CR_DTLS_HANDSHAKING);
    /* Both ends resend; the server's repeated flight gets the handshake going again. */
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_CONNECTED);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);

    enum cr_srtp_profile pc, ps;
    uint8_t cl[64], cr[64], sl[64], sr[64];
    assert_int_equal(cr_dtls_srtp_keys(c, &pc, cl, cr), 0);
    assert_int_equal(cr_dtls_srtp_keys(s, &ps, sl, sr), 0);
    assert_memory_equal(cl, sr, 28);
    cr_dtls_free(c);
    cr_dtls_free(s);
    assert_true(cr_now_us() - t0 < 2000000);
}

static void test_flights_not_merged(void **state)
{
    (void)state;
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));
    transfer(c, s, 0, NULL);
    sleep_ms(130);
    /* The server's first flight is still queued when its timer resends it: two datagrams, not one
     * glued 1290-byte run. */
    assert_int_equal(cr_dtls_handle_timeout(s, cr_now_us()), CR_DTLS_HANDSHAKING);
    uint8_t d1[2048], d2[2048];
    int n1 = cr_dtls_output(s, d1, sizeof(d1)), n2 = cr_dtls_output(s, d2, sizeof(d2));
    assert_true(n1 > 0 && n1 == n2);
    assert_memory_not_equal(d1, d2, (size_t)n1); /* same messages, new record sequence numbers */
    assert_int_equal(cr_dtls_output(s, d1, sizeof(d1)), 0);

    /* The client's timer has expired too: its ClientHello retransmission leaves as its own datagram
     * before the flight that the server's datagram triggers. */
    assert_int_equal(cr_dtls_input(c, d2, (size_t)n2), CR_DTLS_HANDSHAKING);
    uint8_t all[4096];
    size_t used = 0;
    int n, count = 0;
    while ((n = cr_dtls_output(c, all + used, sizeof(all) - used)) > 0) {
        assert_whole_records(all + used, (size_t)n);
        if (count == 0)
            assert_int_equal(all[used + 13], 1); /* ClientHello */
        used += (size_t)n;
        count++;
    }
    assert_int_equal(count, 2);

    /* A peer that does glue them (as a plain memory-BIO OpenSSL user would) must not stall us: the
     * stale ClientHello comes first and the rest of the datagram is still processed. */
    assert_int_equal(cr_dtls_input(s, all, used), CR_DTLS_CONNECTED);
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);
}

static void test_lost_final_flight(void **state)
{
    (void)state;
    /* The server's last flight (ChangeCipherSpec, Finished) is lost: the client's timer resends its
     * own final flight and the already connected server answers it again. */
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));
    transfer(c, s, 0, NULL);
    transfer(s, c, 0, NULL);
    transfer(c, s, 0, NULL);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);
    assert_true(transfer(s, c, 1, NULL) >= 1);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_HANDSHAKING);
    sleep_ms(130);
    assert_int_equal(cr_dtls_handle_timeout(c, cr_now_us()), CR_DTLS_HANDSHAKING);
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);
}

static void test_output_cap(void **state)
{
    (void)state;
    cr_dtls_t *c, *s;
    endpoints(&c, &s, cr_dtls_cert_fingerprint(cert_s), cr_dtls_cert_fingerprint(cert_c));
    uint8_t small[16];
    assert_int_equal(cr_dtls_output(c, small, sizeof(small)), CR_ETOOBIG);
    assert_int_equal(cr_dtls_output(c, NULL, 0), CR_ETOOBIG);
    transfer(c, s, 0, NULL); /* nothing was consumed by the failed calls */

    /* A smaller buffer splits the server's flight at record boundaries; the flight still works. */
    uint8_t buf[400];
    int n, count = 0;
    while ((n = cr_dtls_output(s, buf, sizeof(buf))) > 0) {
        assert_whole_records(buf, (size_t)n);
        assert_true(cr_dtls_input(c, buf, (size_t)n) >= 0);
        count++;
    }
    assert_int_equal(n, 0);
    assert_true(count >= 2);
    pump(c, s, 0);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);
    cr_dtls_free(c);
    cr_dtls_free(s);
}

/* ---- a plain OpenSSL peer, to check interoperability beyond our own wrapper ----------------- */

struct raw {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rb, *wb;
    EVP_PKEY *key;
    X509 *x509;
};

static void raw_new(struct raw *r, int is_server, const char *srtp_profiles)
{
    r->key = EVP_EC_gen("P-256");
    r->x509 = X509_new();
    assert_non_null(r->key);
    X509_set_version(r->x509, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(r->x509), 7);
    X509_gmtime_adj(X509_getm_notBefore(r->x509), 0);
    X509_gmtime_adj(X509_getm_notAfter(r->x509), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(r->x509), "CN", MBSTRING_ASC,
                               (const unsigned char *)"raw", -1, -1, 0);
    X509_set_issuer_name(r->x509, X509_get_subject_name(r->x509));
    X509_set_pubkey(r->x509, r->key);
    assert_true(X509_sign(r->x509, r->key, EVP_sha256()) > 0);
    r->ctx = SSL_CTX_new(DTLS_method());
    assert_int_equal(SSL_CTX_use_certificate(r->ctx, r->x509), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(r->ctx, r->key), 1);
    assert_int_equal(SSL_CTX_set_tlsext_use_srtp(r->ctx, srtp_profiles), 0);
    r->ssl = SSL_new(r->ctx);
    r->rb = BIO_new(BIO_s_mem());
    r->wb = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r->rb, -1);
    BIO_set_mem_eof_return(r->wb, -1);
    SSL_set_bio(r->ssl, r->rb, r->wb);
    if (is_server)
        SSL_set_accept_state(r->ssl);
    else
        SSL_set_connect_state(r->ssl);
}

static void raw_free(struct raw *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
    X509_free(r->x509);
    EVP_PKEY_free(r->key);
}

static void raw_fingerprint(struct raw *r, const EVP_MD *md, const char *name, char *out, size_t cap)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n;
    assert_int_equal(X509_digest(r->x509, md, d, &n), 1);
    size_t o = (size_t)snprintf(out, cap, "%s ", name);
    for (unsigned int i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x%s", d[i], i + 1 < n ? ":" : "");
}

/* Lets the raw peer process its input: handshake first, then records (alerts) via SSL_read. */
static void raw_step(struct raw *r)
{
    uint8_t scratch[256];
    ERR_clear_error();
    if (!SSL_is_init_finished(r->ssl))
        (void)SSL_do_handshake(r->ssl);
    else if (!(SSL_get_shutdown(r->ssl) & SSL_RECEIVED_SHUTDOWN))
        (void)SSL_read(r->ssl, scratch, sizeof(scratch));
    ERR_clear_error();
}

/* Runs the raw peer and our endpoint against each other until neither has output. */
static void pump_raw(struct raw *r, cr_dtls_t *d)
{
    for (int i = 0; i < 32; i++) {
        raw_step(r);
        uint8_t buf[4096];
        int moved = 0, n;
        while ((n = BIO_read(r->wb, buf, sizeof(buf))) > 0) {
            (void)cr_dtls_input(d, buf, (size_t)n);
            moved++;
        }
        while ((n = cr_dtls_output(d, buf, sizeof(buf))) > 0) {
            assert_int_equal(BIO_write(r->rb, buf, n), n);
            raw_step(r);
            moved++;
        }
        if (moved == 0)
            return;
    }
    fail_msg("raw handshake did not settle");
}

static void test_raw_peer_cm_and_close(void **state)
{
    (void)state;
    /* A client offering only AES_CM_128_HMAC_SHA1_80 gets it; its sha-512 fingerprint is accepted. */
    struct raw r;
    raw_new(&r, 0, "SRTP_AES128_CM_SHA1_80");
    char fp[256];
    raw_fingerprint(&r, EVP_sha512(), "sha-512", fp, sizeof(fp));
    cr_dtls_t *s;
    assert_int_equal(cr_dtls_new(&s, ctx_s, 1, fp), 0);
    pump_raw(&r, s);
    assert_int_equal(SSL_is_init_finished(r.ssl), 1);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CONNECTED);

    enum cr_srtp_profile prof;
    uint8_t lk[64], rk[64], raw_keys[60];
    assert_int_equal(cr_dtls_srtp_keys(s, &prof, lk, rk), 0);
    assert_int_equal(prof, CR_SRTP_AES128_CM_SHA1_80);
    assert_int_equal(
        SSL_export_keying_material(r.ssl, raw_keys, 60, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0), 1);
    assert_memory_equal(rk, raw_keys, 16);           /* client key */
    assert_memory_equal(rk + 16, raw_keys + 32, 14); /* client salt */
    assert_memory_equal(lk, raw_keys + 16, 16);      /* server key */
    assert_memory_equal(lk + 16, raw_keys + 46, 14); /* server salt */

    /* close_notify from the peer closes the association and is answered. */
    assert_true(SSL_shutdown(r.ssl) >= 0);
    pump_raw(&r, s);
    assert_int_equal(cr_dtls_state(s), CR_DTLS_CLOSED);
    assert_true(SSL_get_shutdown(r.ssl) & SSL_RECEIVED_SHUTDOWN);
    uint8_t rec[13] = {21, 0xfe, 0xfd};
    assert_int_equal(cr_dtls_input(s, rec, sizeof(rec)), CR_ESTATE);
    cr_dtls_free(s);
    raw_free(&r);
}

static void test_raw_peer_without_srtp(void **state)
{
    (void)state;
    /* Our client against a server that does not negotiate use_srtp: no keys, so the handshake fails. */
    struct raw r;
    raw_new(&r, 1, "SRTP_AES128_CM_SHA1_80");
    SSL_set_tlsext_use_srtp(r.ssl, "SRTP_AES128_CM_SHA1_32"); /* disjoint from ours */
    char fp[256];
    raw_fingerprint(&r, EVP_sha256(), "sha-256", fp, sizeof(fp));
    cr_dtls_t *c;
    assert_int_equal(cr_dtls_new(&c, ctx_c, 0, fp), 0);
    assert_int_equal(cr_dtls_connect(c), 0);
    pump_raw(&r, c);
    assert_int_equal(cr_dtls_state(c), CR_DTLS_FAILED);
    cr_dtls_free(c);
    raw_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_format),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_handshake_and_keys),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_retransmission),
        cmocka_unit_test(test_lost_final_flight),
        cmocka_unit_test(test_flights_not_merged),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_raw_peer_cm_and_close),
        cmocka_unit_test(test_raw_peer_without_srtp),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
