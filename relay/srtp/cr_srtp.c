/*
 * SRTP/SRTCP sessions on OpenSSL EVP. See cr_srtp.h for the contract.
 *
 * A session holds four pre-keyed cipher contexts (SRTP and SRTCP, each way) made once at set-up; per
 * packet only their IV changes, and the per-SSRC state sits in fixed tables inside the session, so the
 * packet path neither allocates nor locks. This file checks the packets, keeps the per-SSRC state in
 * step (cr_srtp_ssrc.c) and dispatches to the profile's transform (cr_srtp_cm.c, cr_srtp_gcm.c).
 */
#include "cr_srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cr_err.h"
#include "cr_srtp_int.h"

_Static_assert(CR_SRTP_MAX_TRAILER >= CR__SRTP_GCM_TAG + CR__SRTP_SRTCP_EIDX, "CR_SRTP_MAX_TRAILER");
_Static_assert(CR_SRTP_MAX_TRAILER >= CR__SRTP_CM_TAG + CR__SRTP_SRTCP_EIDX, "CR_SRTP_MAX_TRAILER");

size_t cr_srtp_key_len(enum cr_srtp_profile p)
{
    switch (p) {
    case CR_SRTP_AES128_CM_SHA1_80:
    case CR_SRTP_AEAD_AES_128_GCM:
        return 16;
    }
    return 0;
}

size_t cr_srtp_salt_len(enum cr_srtp_profile p)
{
    switch (p) {
    case CR_SRTP_AES128_CM_SHA1_80:
        return 14; /* 112-bit salt, RFC 3711 section 8.2 */
    case CR_SRTP_AEAD_AES_128_GCM:
        return 12; /* 96-bit salt, RFC 7714 section 12 */
    }
    return 0;
}

static pthread_once_t cr__srtp_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cr__srtp_ctr, *cr__srtp_gcm;

static void cr__srtp_init_once(void)
{
    /* Fetched once: an implicit fetch (EVP_aes_128_gcm()) looks the provider up, under its locks, at
     * every context initialisation. Kept for the life of the process. */
    cr__srtp_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    cr__srtp_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

int cr_srtp_global_init(void)
{
    if (pthread_once(&cr__srtp_once, cr__srtp_init_once) != 0)
        return CR_ECRYPTO;
    return cr__srtp_ctr != NULL && cr__srtp_gcm != NULL ? 0 : CR_ECRYPTO;
}

const EVP_CIPHER *cr__srtp_cipher(enum cr_srtp_profile p)
{
    return p == CR_SRTP_AEAD_AES_128_GCM ? cr__srtp_gcm : cr__srtp_ctr;
}

int cr_srtp_new(cr_srtp_t **out, enum cr_srtp_profile profile, const uint8_t *tx_key, const uint8_t *rx_key)
{
    if (out == NULL || tx_key == NULL || rx_key == NULL)
        return CR_EINVAL;
    *out = NULL;
    if (cr_srtp_key_len(profile) == 0)
        return CR_EINVAL;
    int rc = cr_srtp_global_init();
    if (rc != 0)
        return rc;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(cr_srtp_t)) != 0)
        return CR_ENOMEM;
    cr_srtp_t *s = memset(mem, 0, sizeof(cr_srtp_t));
    s->profile = profile;
    rc = cr__srtp_keys_init(&s->tx_rtp, &s->tx_rtcp, profile, tx_key, 1);
    if (rc == 0)
        rc = cr__srtp_keys_init(&s->rx_rtp, &s->rx_rtcp, profile, rx_key, 0);
    if (rc != 0) {
        cr_srtp_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cr_srtp_free(cr_srtp_t *s)
{
    if (s == NULL)
        return;
    cr__srtp_keys_dispose(&s->tx_rtp);
    cr__srtp_keys_dispose(&s->tx_rtcp);
    cr__srtp_keys_dispose(&s->rx_rtp);
    cr__srtp_keys_dispose(&s->rx_rtcp);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

static size_t tag_len(const cr_srtp_t *s)
{
    return s->profile == CR_SRTP_AEAD_AES_128_GCM ? CR__SRTP_GCM_TAG : CR__SRTP_CM_TAG;
}

/* Length of the RTP header with its CSRC list and extension (RFC 3550 section 5.3.1); CR_EMALFORMED if
 * it is not version 2 or does not fit in len. */
static int rtp_header_len(const uint8_t *pkt, size_t len, size_t *hl)
{
    if (len < CR__SRTP_RTP_MIN || (pkt[0] >> 6) != 2)
        return CR_EMALFORMED;
    size_t n = CR__SRTP_RTP_MIN + 4u * (pkt[0] & 0x0fu);
    if (pkt[0] & 0x10u) {
        if (n + 4 > len)
            return CR_EMALFORMED;
        n += 4 + 4u * ((size_t)pkt[n + 2] << 8 | pkt[n + 3]);
    }
    if (n > len)
        return CR_EMALFORMED;
    *hl = n;
    return 0;
}

/* Shared checks for protect: the tag (and for SRTCP the index) is written past *len. */
static int protect_check(const cr_srtp_t *s, const uint8_t *pkt, const size_t *len, size_t cap, size_t min)
{
    if (s == NULL || pkt == NULL || len == NULL)
        return CR_EINVAL;
    if (*len < min)
        return CR_EMALFORMED;
    if (*len > cap || cap - *len < CR_SRTP_MAX_TRAILER || *len > INT_MAX - CR_SRTP_MAX_TRAILER)
        return CR_ETOOBIG;
    return 0;
}

int cr_srtp_protect(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap)
{
    size_t hl;
    int rc = protect_check(s, pkt, len, cap, CR__SRTP_RTP_MIN);
    if (rc == 0)
        rc = rtp_header_len(pkt, *len, &hl);
    if (rc != 0)
        return rc;
    uint32_t ssrc = cr__rd32(pkt + 8);
    struct cr__srtp_tx *t = cr__srtp_tx_get(s, ssrc);
    if (t == NULL)
        return CR_EFULL;
    uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
    uint64_t index = t->rtp_seen ? cr__srtp_estimate(t->rtp_top, seq) : seq;
    if (index > CR__SRTP_INDEX_MAX)
        return CR_ECRYPTO; /* the master key is used up (RFC 3711 section 9.2) */
    /* An index already used is accepted (allow_repeat_tx, see cr_srtp.h); one older than the window
     * is refused, as libsrtp does, since its rollover counter may have been guessed wrong. */
    if (t->rtp_seen && index < t->rtp_top && t->rtp_top - index >= CR__SRTP_WINDOW)
        return CR_EREPLAY;
    rc = s->profile == CR_SRTP_AEAD_AES_128_GCM ? cr__srtp_gcm_protect(&s->tx_rtp, pkt, hl, *len, ssrc, index)
                                                : cr__srtp_cm_protect(&s->tx_rtp, pkt, hl, *len, ssrc, index);
    if (rc != 0)
        return rc;
    if (!t->rtp_seen || index > t->rtp_top)
        t->rtp_top = index;
    t->rtp_seen = 1;
    *len += tag_len(s);
    return 0;
}

int cr_srtp_protect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap)
{
    int rc = protect_check(s, pkt, len, cap, CR__SRTP_RTCP_MIN);
    if (rc != 0)
        return rc;
    uint32_t ssrc = cr__rd32(pkt + 4);
    struct cr__srtp_tx *t = cr__srtp_tx_get(s, ssrc);
    if (t == NULL)
        return CR_EFULL;
    if (t->rtcp_index >= CR__SRTCP_INDEX_MAX)
        return CR_ECRYPTO; /* SRTCP index space used up (RFC 3711 section 9.2) */
    uint32_t index = t->rtcp_index + 1;
    rc = s->profile == CR_SRTP_AEAD_AES_128_GCM ? cr__srtcp_gcm_protect(&s->tx_rtcp, pkt, *len, ssrc, index)
                                                : cr__srtcp_cm_protect(&s->tx_rtcp, pkt, *len, ssrc, index);
    if (rc != 0)
        return rc;
    t->rtcp_index = index;
    *len += tag_len(s) + CR__SRTP_SRTCP_EIDX;
    return 0;
}

int cr_srtp_unprotect(cr_srtp_t *s, uint8_t *pkt, size_t *len)
{
    if (s == NULL || pkt == NULL || len == NULL)
        return CR_EINVAL;
    size_t hl, tl = tag_len(s);
    if (*len > INT_MAX || *len < CR__SRTP_RTP_MIN + tl || rtp_header_len(pkt, *len - tl, &hl) != 0)
        return CR_EMALFORMED;
    uint32_t ssrc = cr__rd32(pkt + 8);
    uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
    struct cr__srtp_rx *r = cr__srtp_rx_find(s, ssrc);
    uint64_t index = seq;
    if (r == NULL) {
        if (cr__srtp_rx_room(s) != 0)
            return CR_EFULL;
    } else {
        if (r->rtp_seen)
            index = cr__srtp_estimate(r->rtp_top, seq);
        if (index > CR__SRTP_INDEX_MAX ||
            cr__srtp_replay_check(r->rtp_bits, CR__SRTP_WINDOW_WORDS, CR__SRTP_WINDOW, r->rtp_seen,
                                  r->rtp_top, index) != 0)
            return CR_EREPLAY;
    }
    int rc = s->profile == CR_SRTP_AEAD_AES_128_GCM
                 ? cr__srtp_gcm_unprotect(&s->rx_rtp, pkt, hl, *len, ssrc, index)
                 : cr__srtp_cm_unprotect(&s->rx_rtp, pkt, hl, *len, ssrc, index);
    if (rc != 0)
        return rc;
    /* Authenticated: only now may the packet change the session's state (RFC 3711 section 3.3). */
    if (r == NULL)
        r = cr__srtp_rx_add(s, ssrc);
    cr__srtp_replay_add(r->rtp_bits, CR__SRTP_WINDOW_WORDS, &r->rtp_seen, &r->rtp_top, index);
    r->last_use = ++s->rx_clock;
    *len -= tl;
    return 0;
}

int cr_srtp_unprotect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len)
{
    if (s == NULL || pkt == NULL || len == NULL)
        return CR_EINVAL;
    size_t trailer = tag_len(s) + CR__SRTP_SRTCP_EIDX;
    if (*len > INT_MAX || *len < CR__SRTP_RTCP_MIN + trailer)
        return CR_EMALFORMED;
    int gcm = s->profile == CR_SRTP_AEAD_AES_128_GCM;
    /* GCM puts E || index after the tag (RFC 7714 section 9.2), AES-CM before it (RFC 3711 3.4). */
    uint32_t eidx = cr__rd32(pkt + *len - (gcm ? CR__SRTP_SRTCP_EIDX : trailer));
    uint64_t index = eidx & CR__SRTCP_INDEX_MAX;
    uint32_t ssrc = cr__rd32(pkt + 4);
    struct cr__srtp_rx *r = cr__srtp_rx_find(s, ssrc);
    if (r == NULL) {
        if (cr__srtp_rx_room(s) != 0)
            return CR_EFULL;
    } else if (cr__srtp_replay_check(r->rtcp_bits, CR__SRTP_RTCP_WINDOW_WORDS, CR__SRTP_RTCP_WINDOW,
                                     r->rtcp_seen, r->rtcp_top, index) != 0) {
        return CR_EREPLAY;
    }
    int rc = gcm ? cr__srtcp_gcm_unprotect(&s->rx_rtcp, pkt, *len, ssrc, eidx)
                 : cr__srtcp_cm_unprotect(&s->rx_rtcp, pkt, *len, ssrc, eidx);
    if (rc != 0)
        return rc;
    if (r == NULL)
        r = cr__srtp_rx_add(s, ssrc);
    cr__srtp_replay_add(r->rtcp_bits, CR__SRTP_RTCP_WINDOW_WORDS, &r->rtcp_seen, &r->rtcp_top, index);
    r->last_use = ++s->rx_clock;
    *len -= trailer;
    return 0;
}
