/*
 * DTLS-SRTP over OpenSSL 3.0 with memory BIOs. See cr_dtls.h for the contract.
 *
 * The caller owns the socket: datagrams go in through cr_dtls_input and come out of cr_dtls_output.
 * OpenSSL writes records into a memory BIO that does not remember datagram boundaries, so
 * cr_dtls_output cuts the pending bytes back into datagrams at record boundaries, packing the records
 * of one flight together (several records in one datagram are allowed, RFC 6347 section 4.1.1) but
 * never records written by different OpenSSL calls.
 *
 * The reason is a receive-side weakness of OpenSSL 3.0 that an OpenSSL peer (GStreamer's dtlsdec, or
 * this module) would show: when it discards a record whose version differs from the negotiated one,
 * such as a retransmitted ClientHello (its record carries DTLS 1.0, 0xFEFF), it skips only the
 * 13-byte header and parses the rest of the datagram out of step, losing every record behind it. So
 * we never glue a retransmission in front of the next flight, and on input we hand OpenSSL one record
 * at a time. Nothing here logs; failures are returned.
 */
#include "cr_dtls.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cr_clock.h"
#include "cr_err.h"

/*
 * Largest datagram we emit. Handshake messages are fragmented by OpenSSL to fit (DTLS_set_link_mtu)
 * and cr_dtls_output packs whole records up to this size. 1200 bytes leaves room for IPv6, UDP and a
 * TURN channel header under a 1280-byte path MTU, the same budget ICE connectivity checks assume.
 */
#define CR_DTLS_MTU 1200

/* RFC 6347 section 4.1: type(1) version(2) epoch(2) sequence_number(6) length(2). */
#define CR_DTLS_RECORD_HDR 13

/* One record of the largest size TLS allows (2^14 + 2048, RFC 5246 section 6.2.3) plus its header. */
#define CR_DTLS_MAX_DATAGRAM (16384 + 2048 + CR_DTLS_RECORD_HDR)

/*
 * Retransmission timer (RFC 6347 section 4.2.4.1). RFC 6347 suggests 1 s initially, but ICE has just
 * shown the path answers well within that, and a lost flight would then delay joining a class by a
 * whole second; we start at 100 ms (RFC 6298's minimum RTO, the value RFC 9147 section 5.8.2 adopts)
 * and double up to the 60 s ceiling both RFCs keep. OpenSSL still gives up after 12 expiries.
 */
#define CR_DTLS_TIMER_INITIAL_US 100000u
#define CR_DTLS_TIMER_MAX_US 60000000u

/* RFC 5764 section 4.2 exporter label. */
static const char cr__dtls_exporter_label[] = "EXTRACTOR-dtls_srtp";

/* Output burst boundaries remembered at once; more simply merge into the last (still MTU-packed). */
#define CR_DTLS_MAX_BURSTS 8

/* SSL calls per input record: one for the handshake, then SSL_read until the record is used up. */
#define CR_DTLS_MAX_STEPS 40

/* Longest digest a fingerprint may use (sha-512). */
#define CR_DTLS_MAX_DIGEST 64

struct cr_dtls_cert {
    int refs; /* atomic: the creator plus one per context */
    EVP_PKEY *pkey;
    X509 *x509;
    char fingerprint[8 + 3 * 32]; /* "sha-256 " + 32 "XX:" groups, last ':' replaced by NUL */
};

struct cr_dtls_ctx {
    SSL_CTX *ssl_ctx;
    cr_dtls_cert_t *cert;
};

struct cr_dtls {
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    BIO *wbio; /* owned by ssl */
    enum cr_dtls_state state;
    int is_server;
    int fp_mismatch; /* the verify callback saw a certificate that did not match */
    enum cr_srtp_profile profile;
    /* Output accounting: bytes taken by cr_dtls_output so far, and the stream offsets where one
     * OpenSSL call's output ended, oldest first. */
    uint64_t out_taken;
    uint64_t bursts[CR_DTLS_MAX_BURSTS];
    unsigned nbursts;
    const EVP_MD *remote_md;
    size_t remote_fp_len;
    uint8_t remote_fp[CR_DTLS_MAX_DIGEST];
};

/* ---- certificate ---------------------------------------------------------------------------- */

/* Formats "sha-256 AB:CD:..." (RFC 8122 section 5: uppercase hex pairs separated by colons). */
static int cr__dtls_format_fingerprint(X509 *x, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32 || cap < 8 + 3 * (size_t)n)
        return CR_ECRYPTO;
    memcpy(out, "sha-256 ", 8);
    char *p = out + 8;
    for (unsigned int i = 0; i < n; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 0xf];
        *p++ = ':';
    }
    p[-1] = '\0';
    return 0;
}

/* Fills in a self-signed X.509 v3 certificate for pkey with a random serial. Returns 0 or CR_ECRYPTO. */
static int cr__dtls_make_x509(X509 *x, EVP_PKEY *pkey)
{
    /* A fresh random serial per certificate so peers that cache by issuer+serial never confuse two
     * relay restarts; 63 bits keep the DER INTEGER positive (RFC 5280 section 4.1.2.2). */
    uint64_t serial;
    if (cr_random_bytes(&serial, sizeof(serial)) != 0)
        return CR_ECRYPTO;
    serial = (serial & INT64_MAX) | 1;

    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
        /* Back-date a day: peers with a slow clock must not see a not-yet-valid certificate. */
        X509_gmtime_adj(X509_getm_notBefore(x), -86400L) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"classrelay", -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1 ||
        X509_sign(x, pkey, EVP_sha256()) <= 0)
        return CR_ECRYPTO;
    return 0;
}

int cr_dtls_cert_new(cr_dtls_cert_t **out)
{
    if (out == NULL)
        return CR_EINVAL;
    *out = NULL;
    cr_dtls_cert_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return CR_ENOMEM;
    c->refs = 1;
    int rc = CR_ECRYPTO;
    /* ECDSA P-256 keeps the Certificate message small (one datagram) and is what browsers use. */
    c->pkey = EVP_EC_gen("P-256");
    c->x509 = X509_new();
    if (c->pkey == NULL || c->x509 == NULL)
        goto Exit;
    if ((rc = cr__dtls_make_x509(c->x509, c->pkey)) != 0)
        goto Exit;
    if ((rc = cr__dtls_format_fingerprint(c->x509, c->fingerprint, sizeof(c->fingerprint))) != 0)
        goto Exit;
    *out = c;
    c = NULL;
    rc = 0;
Exit:
    if (c != NULL) {
        X509_free(c->x509);
        EVP_PKEY_free(c->pkey);
        free(c);
    }
    ERR_clear_error();
    return rc;
}

void cr_dtls_cert_free(cr_dtls_cert_t *c)
{
    if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    X509_free(c->x509);
    EVP_PKEY_free(c->pkey);
    free(c);
}

const char *cr_dtls_cert_fingerprint(const cr_dtls_cert_t *c)
{
    return c->fingerprint;
}

/* ---- remote fingerprint --------------------------------------------------------------------- */

static int cr__dtls_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * Parses an SDP fingerprint value (RFC 8122 section 5): hash-func SP fingerprint, the hash name
 * case-insensitive, the digest as colon-separated hex pairs. MD5 and MD2 are refused; RFC 8122 only
 * keeps them for compatibility and a collision-prone hash would defeat the binding.
 */
static int cr__dtls_parse_fingerprint(cr_dtls_t *d, const char *s)
{
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } hashes[] = {
        {"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
        {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
    };
    const char *sp = strchr(s, ' ');
    if (sp == NULL)
        return CR_EINVAL;
    d->remote_md = NULL;
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        size_t n = strlen(hashes[i].name);
        if ((size_t)(sp - s) == n && strncasecmp(s, hashes[i].name, n) == 0)
            d->remote_md = hashes[i].md();
    }
    if (d->remote_md == NULL)
        return CR_EUNSUPPORTED;
    while (*sp == ' ')
        sp++;
    size_t want = (size_t)EVP_MD_get_size(d->remote_md), n = 0;
    for (const char *p = sp;; p += 3) {
        int hi = cr__dtls_hexval(p[0]), lo = hi < 0 ? -1 : cr__dtls_hexval(p[1]);
        if (lo < 0 || n == want)
            return CR_EINVAL;
        d->remote_fp[n++] = (uint8_t)(hi << 4 | lo);
        if (p[2] == '\0')
            break;
        if (p[2] != ':')
            return CR_EINVAL;
    }
    if (n != want)
        return CR_EINVAL;
    d->remote_fp_len = n;
    return 0;
}

/* Whether x's digest under the remote hash equals the fingerprint from SDP (RFC 8122 section 5). */
static int cr__dtls_peer_matches(const cr_dtls_t *d, X509 *x)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (x == NULL || X509_digest(x, d->remote_md, md, &n) != 1 || n != d->remote_fp_len)
        return 0;
    return CRYPTO_memcmp(md, d->remote_fp, n) == 0;
}

/*
 * WebRTC certificates are self-signed, so chain validation would always fail: the only binding is the
 * fingerprint exchanged over the authenticated signaling channel (RFC 8842 section 5, RFC 8827
 * section 6.5). We therefore ignore preverify_ok and accept exactly the certificate whose digest
 * matches. Checking here rather than after the handshake makes OpenSSL send a bad_certificate alert,
 * so the peer fails at once instead of waiting for its timers.
 */
static int cr__dtls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    cr_dtls_t *d = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    if (d == NULL)
        return 0;
    if (cr__dtls_peer_matches(d, X509_STORE_CTX_get0_cert(store)))
        return 1;
    d->fp_mismatch = 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* ---- context -------------------------------------------------------------------------------- */

int cr_dtls_ctx_new(cr_dtls_ctx_t **out, cr_dtls_cert_t *cert)
{
    if (out == NULL || cert == NULL)
        return CR_EINVAL;
    *out = NULL;
    cr_dtls_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return CR_ENOMEM;
    int rc = CR_ECRYPTO;
    SSL_CTX *c = ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (c == NULL)
        goto Exit;
    /* WebRTC requires DTLS 1.2 (RFC 8827 section 6.5); DTLS 1.0 lacks AEAD suites. */
    if (SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(c, cert->x509) != 1 || SSL_CTX_use_PrivateKey(c, cert->pkey) != 1 ||
        SSL_CTX_check_private_key(c) != 1)
        goto Exit;
    /* Our key is ECDSA, so only ECDHE_ECDSA suites can be selected; list the forward-secret AEAD ones
     * browsers offer first and one CBC suite for older stacks. */
    if (SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                   "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA") != 1)
        goto Exit;
    /* use_srtp (RFC 5764 section 4.1.1), GCM first (RFC 7714 section 14.2). Returns 0 on success. */
    if (SSL_CTX_set_tlsext_use_srtp(c, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
        goto Exit;
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, cr__dtls_verify_cb);
    /*
     * No MTU probing (a memory BIO cannot answer), no tickets or session cache (every association is
     * fresh and a resumed session would skip the fingerprint check), and no renegotiation (it would
     * change the SRTP keys under the media path).
     */
    SSL_CTX_set_options(c, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    __atomic_add_fetch(&cert->refs, 1, __ATOMIC_RELAXED);
    ctx->cert = cert;
    *out = ctx;
    ctx = NULL;
    rc = 0;
Exit:
    if (ctx != NULL) {
        SSL_CTX_free(ctx->ssl_ctx);
        free(ctx);
    }
    ERR_clear_error();
    return rc;
}

void cr_dtls_ctx_free(cr_dtls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx); /* endpoints still alive hold their own SSL_CTX reference */
    cr_dtls_cert_free(ctx->cert);
    free(ctx);
}

/* ---- endpoint ------------------------------------------------------------------------------- */

static unsigned int cr__dtls_timer_cb(SSL *ssl, unsigned int timer_us)
{
    (void)ssl;
    if (timer_us == 0)
        return CR_DTLS_TIMER_INITIAL_US;
    return timer_us >= CR_DTLS_TIMER_MAX_US / 2 ? CR_DTLS_TIMER_MAX_US : timer_us * 2;
}

int cr_dtls_new(cr_dtls_t **out, cr_dtls_ctx_t *ctx, int is_server, const char *remote_fingerprint)
{
    if (out == NULL || ctx == NULL || remote_fingerprint == NULL)
        return CR_EINVAL;
    *out = NULL;
    cr_dtls_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return CR_ENOMEM;
    d->is_server = is_server != 0;
    d->state = CR_DTLS_HANDSHAKING;
    int rc = cr__dtls_parse_fingerprint(d, remote_fingerprint);
    if (rc != 0)
        goto Exit;
    rc = CR_ENOMEM;
    d->ssl = SSL_new(ctx->ssl_ctx);
    d->rbio = BIO_new(BIO_s_mem());
    d->wbio = BIO_new(BIO_s_mem());
    if (d->ssl == NULL || d->rbio == NULL || d->wbio == NULL) {
        BIO_free(d->rbio);
        BIO_free(d->wbio);
        goto Exit;
    }
    /* An empty memory BIO must read as "try again", not end of file, or OpenSSL treats the
     * association as closed between datagrams. */
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_mem_eof_return(d->wbio, -1);
    SSL_set_bio(d->ssl, d->rbio, d->wbio);
    SSL_set_app_data(d->ssl, d);
    DTLS_set_timer_cb(d->ssl, cr__dtls_timer_cb);
    /* Fragment handshake messages to our MTU; a memory BIO reports no per-datagram overhead. */
    rc = CR_ECRYPTO;
    if (DTLS_set_link_mtu(d->ssl, CR_DTLS_MTU) != 1)
        goto Exit;
    /*
     * The server answers without a HelloVerifyRequest cookie round trip (SSL_OP_COOKIE_EXCHANGE stays
     * off): ICE connectivity checks already proved the peer owns its address (RFC 8445 section 7.2.5),
     * which is the amplification protection cookies give (RFC 6347 section 4.2.1).
     */
    if (d->is_server)
        SSL_set_accept_state(d->ssl);
    else
        SSL_set_connect_state(d->ssl);
    *out = d;
    d = NULL;
    rc = 0;
Exit:
    cr_dtls_free(d);
    ERR_clear_error();
    return rc;
}

void cr_dtls_free(cr_dtls_t *d)
{
    if (d == NULL)
        return;
    SSL_free(d->ssl); /* frees both BIOs */
    OPENSSL_cleanse(d->remote_fp, sizeof(d->remote_fp));
    free(d);
}

enum cr_dtls_state cr_dtls_state(const cr_dtls_t *d)
{
    return d->state;
}

/* Called when OpenSSL reports the handshake done: binds the peer and the SRTP profile. */
static int cr__dtls_handshake_done(cr_dtls_t *d)
{
    /* The verify callback already checked; this repeats it on the certificate the session finally
     * holds, so no path (a resumed session, a callback not called) can skip the binding. */
    if (!cr__dtls_peer_matches(d, SSL_get0_peer_certificate(d->ssl))) {
        d->state = CR_DTLS_FAILED;
        SSL_shutdown(d->ssl);
        return CR_EAUTH;
    }
    /* RFC 5764 section 4.1.1: without a negotiated use_srtp extension there are no SRTP keys. */
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    if (p == NULL || p->id > INT_MAX || cr_srtp_key_len((enum cr_srtp_profile)p->id) == 0) {
        d->state = CR_DTLS_FAILED;
        SSL_shutdown(d->ssl);
        return CR_ENEGOTIATE;
    }
    d->profile = (enum cr_srtp_profile)p->id;
    d->state = CR_DTLS_CONNECTED;
    return 0;
}

/* Maps a failed SSL call to the state and a CR_E* code; 0 if OpenSSL merely wants more input. */
static int cr__dtls_ssl_error(cr_dtls_t *d, int ret)
{
    switch (SSL_get_error(d->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* a memory BIO always accepts writes; treat as benign */
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        /* close_notify (RFC 5246 section 7.2.1): answer with ours so the peer can stop too. */
        d->state = CR_DTLS_CLOSED;
        SSL_shutdown(d->ssl);
        return 0;
    default:
        d->state = CR_DTLS_FAILED;
        return d->fp_mismatch ? CR_EAUTH : CR_ECRYPTO;
    }
}

/* Marks the end of what OpenSSL has written so far, so that output never merges it with later bytes. */
static void cr__dtls_mark_burst(cr_dtls_t *d)
{
    uint64_t end = d->out_taken + (uint64_t)BIO_ctrl_pending(d->wbio);
    if (d->nbursts > 0 && d->bursts[d->nbursts - 1] >= end)
        return; /* nothing new */
    if (d->nbursts == CR_DTLS_MAX_BURSTS)
        d->nbursts--; /* extend the newest burst instead */
    d->bursts[d->nbursts++] = end;
}

/* One step of record processing. Returns 1 to go on, 0 when done, or a negative CR_E* code. */
static int cr__dtls_step(cr_dtls_t *d)
{
    int ret, rc;
    if (d->state == CR_DTLS_HANDSHAKING) {
        ret = SSL_do_handshake(d->ssl);
        if (ret == 1)
            return (rc = cr__dtls_handshake_done(d)) == 0 ? 1 : rc;
    } else {
        /* After the handshake, records are alerts (close_notify) or the peer's retransmitted final
         * flight, which OpenSSL answers by resending ours (RFC 6347 section 4.2.4). Application data
         * has no consumer here (no data channels), so it is read and dropped. */
        uint8_t scratch[512];
        ret = SSL_read(d->ssl, scratch, (int)sizeof(scratch));
        if (ret > 0)
            return 1;
    }
    rc = cr__dtls_ssl_error(d, ret);
    return rc < 0 ? rc : 0;
}

/* Lets OpenSSL consume whatever is in the read BIO: handshake progress, alerts, retransmissions. */
static int cr__dtls_advance(cr_dtls_t *d)
{
    int rc = 1;
    ERR_clear_error();
    /* A record holds at most 18 KB, so 40 reads of 512 bytes drain it; the bound is only a guard. */
    for (int i = 0; i < CR_DTLS_MAX_STEPS && rc == 1; i++) {
        if (d->state == CR_DTLS_HANDSHAKING || d->state == CR_DTLS_CONNECTED)
            rc = cr__dtls_step(d);
        else
            rc = 0;
    }
    cr__dtls_mark_burst(d);
    ERR_clear_error();
    return rc < 0 ? rc : 0;
}

int cr_dtls_connect(cr_dtls_t *d)
{
    if (d == NULL)
        return CR_EINVAL;
    if (d->is_server || d->state != CR_DTLS_HANDSHAKING)
        return CR_ESTATE;
    int rc = cr__dtls_advance(d);
    return rc < 0 ? rc : 0;
}

/*
 * Checks that a datagram is a sequence of whole DTLS records before OpenSSL sees it (RFC 6347
 * section 4.1; first byte 20..63 is the DTLS range of the RFC 7983 section 7 demultiplexer, version
 * major byte 254). OpenSSL would drop garbage silently; rejecting it here lets the caller count it.
 */
static int cr__dtls_check_records(const uint8_t *p, size_t len)
{
    if (len < CR_DTLS_RECORD_HDR)
        return CR_EMALFORMED;
    while (len > 0) {
        if (len < CR_DTLS_RECORD_HDR || p[0] < 20 || p[0] > 63 || p[1] != 0xfe)
            return CR_EMALFORMED;
        size_t rec = CR_DTLS_RECORD_HDR + ((size_t)p[11] << 8 | p[12]);
        if (rec > len)
            return CR_EMALFORMED;
        p += rec;
        len -= rec;
    }
    return 0;
}

int cr_dtls_input(cr_dtls_t *d, const uint8_t *pkt, size_t len)
{
    if (d == NULL || pkt == NULL)
        return CR_EINVAL;
    if (d->state == CR_DTLS_FAILED || d->state == CR_DTLS_CLOSED)
        return CR_ESTATE;
    if (len > CR_DTLS_MAX_DATAGRAM)
        return CR_ETOOBIG;
    int rc = cr__dtls_check_records(pkt, len);
    if (rc != 0)
        return rc;
    /* If our timer has expired, OpenSSL would retransmit from inside the read below and glue that
     * retransmission to the flight this datagram may trigger; do it first as its own burst. */
    ERR_clear_error();
    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        d->state = CR_DTLS_FAILED;
        ERR_clear_error();
        return CR_ECRYPTO;
    }
    cr__dtls_mark_burst(d);
    /* One record per BIO_read (see the top of this file); the walk was validated above. */
    for (const uint8_t *p = pkt, *end = pkt + len; p < end; ) {
        if (d->state != CR_DTLS_HANDSHAKING && d->state != CR_DTLS_CONNECTED)
            break;
        int rec = CR_DTLS_RECORD_HDR + (p[11] << 8 | p[12]);
        (void)BIO_reset(d->rbio);
        if (BIO_write(d->rbio, p, rec) != rec) {
            ERR_clear_error();
            return CR_ENOMEM;
        }
        if ((rc = cr__dtls_advance(d)) < 0)
            return rc;
        p += rec;
    }
    return (int)d->state;
}

/*
 * Returns the length of the longest prefix of p[0..n) made of whole records that fits in limit, or
 * the first record alone if it does not fit (records cannot be split).
 */
static size_t cr__dtls_datagram_len(const uint8_t *p, size_t n, size_t limit)
{
    size_t take = 0;
    while (take < n) {
        size_t left = n - take, rec = left;
        if (left >= CR_DTLS_RECORD_HDR) {
            rec = CR_DTLS_RECORD_HDR + ((size_t)p[take + 11] << 8 | p[take + 12]);
            if (rec > left)
                rec = left; /* cannot happen with OpenSSL's own output; keep the bytes together */
        }
        if (take > 0 && take + rec > limit)
            break;
        take += rec;
    }
    return take;
}

int cr_dtls_output(cr_dtls_t *d, uint8_t *buf, size_t cap)
{
    if (d == NULL)
        return CR_EINVAL;
    char *pending = NULL;
    long n = BIO_get_mem_data(d->wbio, &pending);
    if (n <= 0 || pending == NULL)
        return 0;
    /* Stay inside the oldest burst that still has bytes. */
    while (d->nbursts > 0 && d->bursts[0] <= d->out_taken) {
        memmove(d->bursts, d->bursts + 1, --d->nbursts * sizeof(d->bursts[0]));
    }
    size_t avail = (size_t)n;
    if (d->nbursts > 0 && d->bursts[0] - d->out_taken < avail)
        avail = (size_t)(d->bursts[0] - d->out_taken);
    size_t limit = cap < CR_DTLS_MTU ? cap : CR_DTLS_MTU;
    size_t take = cr__dtls_datagram_len((const uint8_t *)pending, avail, limit);
    if (buf == NULL || take > cap)
        return CR_ETOOBIG;
    if (BIO_read(d->wbio, buf, (int)take) != (int)take) {
        ERR_clear_error();
        return CR_EIO;
    }
    d->out_taken += take;
    return (int)take;
}

int cr_dtls_handle_timeout(cr_dtls_t *d, uint64_t now_us)
{
    (void)now_us; /* OpenSSL keeps its own clock for DTLS timers; see cr_dtls_next_timeout_us */
    if (d == NULL)
        return CR_EINVAL;
    if (d->state != CR_DTLS_HANDSHAKING && d->state != CR_DTLS_CONNECTED)
        return (int)d->state;
    ERR_clear_error();
    /* Returns 1 after retransmitting, 0 if the timer had not expired, -1 after too many expiries. */
    if (DTLSv1_handle_timeout(d->ssl) < 0)
        d->state = CR_DTLS_FAILED;
    cr__dtls_mark_burst(d);
    ERR_clear_error();
    return (int)d->state;
}

uint64_t cr_dtls_next_timeout_us(cr_dtls_t *d, uint64_t now_us)
{
    if (d == NULL || (d->state != CR_DTLS_HANDSHAKING && d->state != CR_DTLS_CONNECTED))
        return 0;
    /* OpenSSL reports the time left on its own clock; adding it to the caller's monotonic now turns
     * that into a deadline on the caller's clock. */
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) != 1)
        return 0;
    uint64_t t = now_us + (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    return t != 0 ? t : 1;
}

int cr_dtls_srtp_keys(cr_dtls_t *d, enum cr_srtp_profile *profile, uint8_t local_key[64],
                      uint8_t remote_key[64])
{
    if (d == NULL || profile == NULL || local_key == NULL || remote_key == NULL)
        return CR_EINVAL;
    if (d->state != CR_DTLS_CONNECTED)
        return CR_ESTATE;
    size_t kl = cr_srtp_key_len(d->profile), sl = cr_srtp_salt_len(d->profile);
    /* RFC 5764 section 4.2: client key | server key | client salt | server salt. */
    uint8_t m[2 * (16 + 14)];
    if (2 * (kl + sl) > sizeof(m))
        return CR_ECRYPTO;
    ERR_clear_error();
    if (SSL_export_keying_material(d->ssl, m, 2 * (kl + sl), cr__dtls_exporter_label,
                                   sizeof(cr__dtls_exporter_label) - 1, NULL, 0, 0) != 1) {
        ERR_clear_error();
        return CR_ECRYPTO;
    }
    /* Each side protects with its own write key: the client's half is the server's remote key. */
    uint8_t *client = d->is_server ? remote_key : local_key;
    uint8_t *server = d->is_server ? local_key : remote_key;
    memcpy(client, m, kl);
    memcpy(client + kl, m + 2 * kl, sl);
    memcpy(server, m + kl, kl);
    memcpy(server + kl, m + 2 * kl + sl, sl);
    OPENSSL_cleanse(m, sizeof(m));
    *profile = d->profile;
    return 0;
}
