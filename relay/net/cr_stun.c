/*
 * STUN message parsing and writing (RFC 8489) for ICE connectivity checks (RFC 8445 section 7).
 *
 * The parser walks the attributes once, checking every length against the message before reading,
 * and records where MESSAGE-INTEGRITY and FINGERPRINT sit so that they can be verified later with
 * a key the caller picks from USERNAME. The writers build the few messages an ICE-lite agent and a
 * test client need; all of them end in MESSAGE-INTEGRITY (where keyed) and FINGERPRINT.
 */
#include "cr_stun.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cr_be.h"
#include "cr_crc32.h"
#include "cr_err.h"

#define STUN_ATTR_HDR 4
#define STUN_MI_LEN 20           /* HMAC-SHA1, RFC 8489 section 14.5 */
#define STUN_FP_LEN 4            /* CRC-32, RFC 8489 section 14.7 */
#define STUN_FP_XOR 0x5354554eu  /* "STUN", XORed into the CRC so it differs from other CRCs */
#define STUN_MAX_USERNAME 508    /* section 14.3: "fewer than 509 bytes" */
#define STUN_MAX_REASON 509      /* section 14.8: fewer than 128 characters, at most 509 bytes */
#define STUN_MAX_ATTR_VALUE 1024 /* longest value we write; keeps the attribute length in 16 bits */

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

int cr_stun_is_stun(const uint8_t *data, size_t len)
{
    /* RFC 7983 section 7: STUN is the first byte 0..3 when STUN, DTLS, and SRTP share a port. */
    if (data == NULL || len < CR_STUN_HDR_LEN || data[0] > 3)
        return 0;
    if (cr__rd32(data + 4) != CR_STUN_MAGIC)
        return 0;
    size_t body = cr__rd16(data + 2);
    return (body & 3) == 0 && CR_STUN_HDR_LEN + body == len;
}

/*
 * XOR-MAPPED-ADDRESS (RFC 8489 section 14.2). The port is XORed with the cookie's top 16 bits; an
 * IPv4 address with the cookie; an IPv6 address with cookie || transaction id. Those 16 bytes are
 * exactly header bytes 4..19, so xkey points there for both families.
 */
static int decode_xor_addr(const uint8_t *v, size_t vlen, const uint8_t *xkey,
                           struct sockaddr_storage *ss)
{
    if (vlen < 4)
        return CR_EMALFORMED;
    uint16_t port = (uint16_t)(cr__rd16(v + 2) ^ (CR_STUN_MAGIC >> 16));
    memset(ss, 0, sizeof(*ss));
    if (v[1] == 0x01) {
        if (vlen != 8)
            return CR_EMALFORMED;
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        uint8_t *a = (uint8_t *)&sin->sin_addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        for (int i = 0; i < 4; i++)
            a[i] = v[4 + i] ^ xkey[i];
        return 0;
    }
    if (v[1] == 0x02) {
        if (vlen != 20)
            return CR_EMALFORMED;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        for (int i = 0; i < 16; i++)
            sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ xkey[i];
        return 0;
    }
    return CR_EMALFORMED;
}

/* ERROR-CODE (RFC 8489 section 14.8): 21 reserved bits, a 3-bit class 3..6, a number 0..99. */
static int decode_error_code(const uint8_t *v, size_t vlen, uint16_t *code)
{
    if (vlen < 4 || vlen > 4 + STUN_MAX_REASON)
        return CR_EMALFORMED;
    unsigned cls = v[2] & 0x07u, num = v[3];
    if (cls < 3 || cls > 6 || num > 99)
        return CR_EMALFORMED;
    *code = (uint16_t)(cls * 100 + num);
    return 0;
}

/* Bits for "already seen": RFC 8489 section 5 says only the first of a repeated attribute counts. */
enum {
    SEEN_USERNAME = 1 << 0,
    SEEN_PRIORITY = 1 << 1,
    SEEN_CONTROL = 1 << 2,
    SEEN_ERROR = 1 << 3,
    SEEN_XOR = 1 << 4,
};

/* The ICE attributes of RFC 8445 section 16.1, with the fixed lengths given there. */
static int parse_ice_attr(uint16_t type, const uint8_t *v, size_t vlen, cr_stun_msg_t *out,
                          unsigned *seen)
{
    switch (type) {
    case CR_STUN_ATTR_PRIORITY:
        if (vlen != 4)
            return CR_EMALFORMED;
        if (!(*seen & SEEN_PRIORITY))
            out->priority = cr__rd32(v);
        *seen |= SEEN_PRIORITY;
        return 0;
    case CR_STUN_ATTR_USE_CANDIDATE:
        if (vlen != 0)
            return CR_EMALFORMED;
        out->use_candidate = 1;
        return 0;
    default: /* ICE-CONTROLLING or ICE-CONTROLLED */
        if (vlen != 8)
            return CR_EMALFORMED;
        if (!(*seen & SEEN_CONTROL)) {
            out->tiebreaker = ((uint64_t)cr__rd32(v) << 32) | cr__rd32(v + 4);
            if (type == CR_STUN_ATTR_ICE_CONTROLLING)
                out->ice_controlling = 1;
            else
                out->ice_controlled = 1;
        }
        *seen |= SEEN_CONTROL;
        return 0;
    }
}

static int parse_attr(const uint8_t *data, size_t off, uint16_t type, size_t vlen,
                      cr_stun_msg_t *out, unsigned *seen)
{
    const uint8_t *v = data + off + STUN_ATTR_HDR;
    int err = 0;
    switch (type) {
    case CR_STUN_ATTR_USERNAME:
        if (vlen > STUN_MAX_USERNAME)
            return CR_EMALFORMED;
        if (!(*seen & SEEN_USERNAME)) {
            out->username = v;
            out->username_len = vlen;
        }
        *seen |= SEEN_USERNAME;
        return 0;
    case CR_STUN_ATTR_MESSAGE_INTEGRITY:
        if (vlen != STUN_MI_LEN)
            return CR_EMALFORMED;
        out->integrity_off = off;
        return 0;
    case CR_STUN_ATTR_PRIORITY:
    case CR_STUN_ATTR_USE_CANDIDATE:
    case CR_STUN_ATTR_ICE_CONTROLLING:
    case CR_STUN_ATTR_ICE_CONTROLLED:
        return parse_ice_attr(type, v, vlen, out, seen);
    case CR_STUN_ATTR_ERROR_CODE: {
        uint16_t code = 0;
        err = decode_error_code(v, vlen, &code);
        if (err == 0 && !(*seen & SEEN_ERROR))
            out->error_code = code;
        *seen |= SEEN_ERROR;
        return err;
    }
    case CR_STUN_ATTR_XOR_MAPPED_ADDRESS: {
        struct sockaddr_storage ss;
        err = decode_xor_addr(v, vlen, data + 4, &ss);
        if (err == 0 && !(*seen & SEEN_XOR)) {
            out->xor_mapped = ss;
            out->has_xor_mapped = 1;
        }
        *seen |= SEEN_XOR;
        return err;
    }
    default:
        /* Unknown and informational attributes (SOFTWARE, MAPPED-ADDRESS, ...) are skipped. */
        return 0;
    }
}

static int parse_header(const uint8_t *data, size_t len, cr_stun_msg_t *out)
{
    if (len < CR_STUN_HDR_LEN)
        return CR_ETRUNC;
    /* Section 5: the two most significant bits are zero and the cookie is fixed. */
    if ((data[0] & 0xc0) != 0 || cr__rd32(data + 4) != CR_STUN_MAGIC)
        return CR_EMALFORMED;
    out->type = cr__rd16(data);
    out->length = cr__rd16(data + 2);
    memcpy(out->tid, data + 8, sizeof(out->tid));
    if (out->length & 3)
        return CR_EMALFORMED;
    if (CR_STUN_HDR_LEN + (size_t)out->length > len)
        return CR_ETRUNC;
    /* One datagram carries one message; trailing bytes mean it is not what it claims to be. */
    if (CR_STUN_HDR_LEN + (size_t)out->length < len)
        return CR_EMALFORMED;
    return 0;
}

int cr_stun_parse(const uint8_t *data, size_t len, cr_stun_msg_t *out)
{
    if (data == NULL || out == NULL)
        return CR_EINVAL;
    memset(out, 0, sizeof(*out));
    int err = parse_header(data, len, out);
    if (err != 0)
        return err;
    size_t off = CR_STUN_HDR_LEN, end = CR_STUN_HDR_LEN + (size_t)out->length;
    unsigned n_attrs = 0, seen = 0;
    while (off < end) {
        /* Section 14.7: FINGERPRINT is last when present. */
        if (out->fingerprint_off != 0 || ++n_attrs > CR_STUN_MAX_ATTRS)
            return CR_EMALFORMED;
        if (end - off < STUN_ATTR_HDR)
            return CR_EMALFORMED;
        uint16_t type = cr__rd16(data + off);
        size_t vlen = cr__rd16(data + off + 2);
        /* Section 14: values are padded to 4 bytes and the padding is part of the message. */
        if (pad4(vlen) > end - off - STUN_ATTR_HDR)
            return CR_EMALFORMED;
        if (type == CR_STUN_ATTR_FINGERPRINT) {
            if (vlen != STUN_FP_LEN)
                return CR_EMALFORMED;
            out->fingerprint_off = off;
        } else if (out->integrity_off == 0) {
            err = parse_attr(data, off, type, vlen, out, &seen);
            if (err != 0)
                return err;
        }
        /* Section 14.5: attributes between MESSAGE-INTEGRITY and FINGERPRINT are ignored. */
        off += STUN_ATTR_HDR + pad4(vlen);
    }
    return 0;
}

static EVP_MAC *stun_hmac_alg;
static pthread_once_t stun_hmac_once = PTHREAD_ONCE_INIT;

static void stun_hmac_fetch(void)
{
    /* Fetched once: a provider lookup per binding request would take a global lock each time. */
    stun_hmac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
}

/*
 * HMAC-SHA1 over msg[0..mi_off) as RFC 8489 section 14.5 defines it: the header's length field is
 * taken to end right after MESSAGE-INTEGRITY, whatever follows it. The header is patched in a copy
 * so that the caller's buffer is never written.
 */
static int stun_hmac(const uint8_t *msg, size_t mi_off, const uint8_t *key, size_t key_len,
                     uint8_t out[STUN_MI_LEN])
{
    static const uint8_t empty_key[1];
    uint8_t hdr[CR_STUN_HDR_LEN];
    memcpy(hdr, msg, sizeof(hdr));
    cr__wr16(hdr + 2, (uint16_t)(mi_off - CR_STUN_HDR_LEN + STUN_ATTR_HDR + STUN_MI_LEN));

    pthread_once(&stun_hmac_once, stun_hmac_fetch);
    if (stun_hmac_alg == NULL)
        return CR_ECRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(stun_hmac_alg);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t out_len = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key ? key : empty_key, key_len, params) &&
             EVP_MAC_update(ctx, hdr, sizeof(hdr)) &&
             EVP_MAC_update(ctx, msg + CR_STUN_HDR_LEN, mi_off - CR_STUN_HDR_LEN) &&
             EVP_MAC_final(ctx, out, &out_len, STUN_MI_LEN) && out_len == STUN_MI_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : CR_ECRYPTO;
}

/* CRC-32 over msg[0..fp_off) with the length field covering FINGERPRINT (section 14.7). */
static uint32_t stun_fingerprint(const uint8_t *msg, size_t fp_off)
{
    uint8_t hdr[CR_STUN_HDR_LEN];
    memcpy(hdr, msg, sizeof(hdr));
    cr__wr16(hdr + 2, (uint16_t)(fp_off - CR_STUN_HDR_LEN + STUN_ATTR_HDR + STUN_FP_LEN));
    uint32_t crc = cr__crc32_update(0, hdr, sizeof(hdr));
    crc = cr__crc32_update(crc, msg + CR_STUN_HDR_LEN, fp_off - CR_STUN_HDR_LEN);
    return crc ^ STUN_FP_XOR;
}

int cr_stun_check_integrity(const uint8_t *data, size_t len, const cr_stun_msg_t *m,
                            const uint8_t *key, size_t key_len)
{
    if (data == NULL || m == NULL || (key == NULL && key_len != 0))
        return CR_EINVAL;
    if (m->integrity_off == 0)
        return CR_ENOTFOUND;
    size_t off = m->integrity_off;
    /* m is meant to come from this buffer; refuse rather than read past it if it does not. */
    if (off < CR_STUN_HDR_LEN || off > len || len - off < STUN_ATTR_HDR + STUN_MI_LEN)
        return CR_EINVAL;
    uint8_t mac[STUN_MI_LEN];
    int err = stun_hmac(data, off, key, key_len, mac);
    if (err != 0)
        return err;
    /* Constant time, so a forger cannot learn the tag byte by byte. */
    return CRYPTO_memcmp(mac, data + off + STUN_ATTR_HDR, STUN_MI_LEN) == 0 ? 0 : CR_EAUTH;
}

int cr_stun_check_fingerprint(const uint8_t *data, size_t len, const cr_stun_msg_t *m)
{
    if (data == NULL || m == NULL)
        return CR_EINVAL;
    if (m->fingerprint_off == 0)
        return CR_ENOTFOUND;
    size_t off = m->fingerprint_off;
    if (off < CR_STUN_HDR_LEN || off > len || len - off < STUN_ATTR_HDR + STUN_FP_LEN)
        return CR_EINVAL;
    return stun_fingerprint(data, off) == cr__rd32(data + off + STUN_ATTR_HDR) ? 0 : CR_EAUTH;
}

/* A message being written into buf[0..cap); off never exceeds cap. */
typedef struct stun_wr {
    uint8_t *buf;
    size_t cap;
    size_t off;
} stun_wr_t;

static int wr_begin(stun_wr_t *w, uint8_t *buf, size_t cap, uint16_t type, const uint8_t *tid)
{
    if (buf == NULL || tid == NULL)
        return CR_EINVAL;
    if (cap < CR_STUN_HDR_LEN)
        return CR_ETOOBIG;
    w->buf = buf;
    w->cap = cap;
    w->off = CR_STUN_HDR_LEN;
    cr__wr16(buf, type);
    cr__wr16(buf + 2, 0);
    cr__wr32(buf + 4, CR_STUN_MAGIC);
    memcpy(buf + 8, tid, 12);
    return 0;
}

/* Appends an attribute with zero padding (section 14) and updates the header length. */
static int wr_attr(stun_wr_t *w, uint16_t type, const void *val, size_t len)
{
    size_t padded = pad4(len);
    if (len > STUN_MAX_ATTR_VALUE || w->cap - w->off < STUN_ATTR_HDR + padded)
        return CR_ETOOBIG;
    uint8_t *p = w->buf + w->off;
    cr__wr16(p, type);
    cr__wr16(p + 2, (uint16_t)len);
    if (len > 0)
        memcpy(p + STUN_ATTR_HDR, val, len);
    memset(p + STUN_ATTR_HDR + len, 0, padded - len);
    w->off += STUN_ATTR_HDR + padded;
    cr__wr16(w->buf + 2, (uint16_t)(w->off - CR_STUN_HDR_LEN));
    return 0;
}

static int wr_integrity(stun_wr_t *w, const uint8_t *key, size_t key_len)
{
    static const uint8_t zero[STUN_MI_LEN];
    size_t mi_off = w->off;
    int err = wr_attr(w, CR_STUN_ATTR_MESSAGE_INTEGRITY, zero, sizeof(zero));
    if (err != 0)
        return err;
    return stun_hmac(w->buf, mi_off, key, key_len, w->buf + mi_off + STUN_ATTR_HDR);
}

/* Appends FINGERPRINT, which ends every message we write, and returns the total length. */
static int wr_finish(stun_wr_t *w)
{
    static const uint8_t zero[STUN_FP_LEN];
    size_t fp_off = w->off;
    int err = wr_attr(w, CR_STUN_ATTR_FINGERPRINT, zero, sizeof(zero));
    if (err != 0)
        return err;
    cr__wr32(w->buf + fp_off + STUN_ATTR_HDR, stun_fingerprint(w->buf, fp_off));
    return (int)w->off;
}

static int encode_xor_addr(const struct sockaddr *sa, const uint8_t *xkey, uint8_t v[20],
                           size_t *vlen)
{
    const uint8_t *addr;
    uint16_t port;
    size_t alen;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        addr = (const uint8_t *)&sin->sin_addr;
        port = ntohs(sin->sin_port);
        alen = 4;
        v[1] = 0x01;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        addr = sin6->sin6_addr.s6_addr;
        port = ntohs(sin6->sin6_port);
        alen = 16;
        v[1] = 0x02;
    } else {
        return CR_EINVAL;
    }
    v[0] = 0;
    cr__wr16(v + 2, (uint16_t)(port ^ (CR_STUN_MAGIC >> 16)));
    for (size_t i = 0; i < alen; i++)
        v[4 + i] = addr[i] ^ xkey[i];
    *vlen = 4 + alen;
    return 0;
}

int cr_stun_write_binding_success(uint8_t *buf, size_t cap, const uint8_t tid[12],
                                  const struct sockaddr *mapped, const uint8_t *key, size_t key_len)
{
    if (mapped == NULL || key == NULL)
        return CR_EINVAL;
    stun_wr_t w;
    int err = wr_begin(&w, buf, cap, CR_STUN_BINDING_SUCCESS, tid);
    if (err != 0)
        return err;
    uint8_t xa[20];
    size_t xa_len = 0;
    err = encode_xor_addr(mapped, buf + 4, xa, &xa_len);
    if (err == 0)
        err = wr_attr(&w, CR_STUN_ATTR_XOR_MAPPED_ADDRESS, xa, xa_len);
    if (err == 0)
        err = wr_integrity(&w, key, key_len);
    return err != 0 ? err : wr_finish(&w);
}

int cr_stun_write_binding_error(uint8_t *buf, size_t cap, const uint8_t tid[12], uint16_t code,
                                const char *reason)
{
    if (code < 300 || code > 699)
        return CR_EINVAL;
    if (reason == NULL)
        reason = "";
    size_t rlen = strnlen(reason, STUN_MAX_REASON + 1);
    if (rlen > STUN_MAX_REASON)
        return CR_ETOOBIG;
    stun_wr_t w;
    int err = wr_begin(&w, buf, cap, CR_STUN_BINDING_ERROR, tid);
    if (err != 0)
        return err;
    uint8_t val[4 + STUN_MAX_REASON];
    val[0] = 0;
    val[1] = 0;
    val[2] = (uint8_t)(code / 100);
    val[3] = (uint8_t)(code % 100);
    memcpy(val + 4, reason, rlen);
    err = wr_attr(&w, CR_STUN_ATTR_ERROR_CODE, val, 4 + rlen);
    return err != 0 ? err : wr_finish(&w);
}

int cr_stun_write_binding_request(uint8_t *buf, size_t cap, const cr_stun_request_t *req)
{
    if (req == NULL || req->username == NULL || req->key == NULL)
        return CR_EINVAL;
    size_t ulen = strnlen(req->username, STUN_MAX_USERNAME + 1);
    if (ulen > STUN_MAX_USERNAME)
        return CR_ETOOBIG;
    stun_wr_t w;
    int err = wr_begin(&w, buf, cap, CR_STUN_BINDING_REQUEST, req->tid);
    if (err != 0)
        return err;
    uint8_t prio[4], tie[8];
    cr__wr32(prio, req->priority);
    cr__wr32(tie, (uint32_t)(req->tiebreaker >> 32));
    cr__wr32(tie + 4, (uint32_t)req->tiebreaker);
    /* RFC 8445 section 7.1.1: PRIORITY and a role attribute with the tie-breaker, always. */
    err = wr_attr(&w, CR_STUN_ATTR_USERNAME, req->username, ulen);
    if (err == 0)
        err = wr_attr(&w, CR_STUN_ATTR_PRIORITY, prio, sizeof(prio));
    if (err == 0)
        err = wr_attr(&w, req->controlling ? CR_STUN_ATTR_ICE_CONTROLLING : CR_STUN_ATTR_ICE_CONTROLLED,
                      tie, sizeof(tie));
    if (err == 0 && req->use_candidate)
        err = wr_attr(&w, CR_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (err == 0)
        err = wr_integrity(&w, req->key, req->key_len);
    return err != 0 ? err : wr_finish(&w);
}
