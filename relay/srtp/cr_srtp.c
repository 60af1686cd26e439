/*
 * SRTP/SRTCP over libsrtp2. See cr_srtp.h for the contract.
 *
 * A peer's two directions live in two srtp_t: one with an ssrc_any_outbound template keyed with our key,
 * one with an ssrc_any_inbound template keyed with the peer's. They cannot share one srtp_t because
 * libsrtp 2 keeps a single wildcard template per session and rejects a second with bad_param. libsrtp
 * instantiates a per-SSRC stream from the template the first time it sees an SSRC (on the inbound side
 * only after the packet authenticated), so that first packet costs one allocation inside libsrtp;
 * every later packet is processed in place.
 */
#include "cr_srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "cr_err.h"

/* The header promises room for libsrtp's worst case; keep the two in step at compile time. SRTCP adds
 * the 4-byte E-flag/index word (RFC 3711 section 3.4) on top of the tag and MKI. */
_Static_assert(CR_SRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + 4, "CR_SRTP_MAX_TRAILER too small");

/* RTP fixed header (RFC 3550 section 5.1) and RTCP common header (section 6.4.1). */
#define CR_SRTP_RTP_MIN 12
#define CR_SRTP_RTCP_MIN 8

/*
 * Replay window in packets. RFC 3711 section 3.3.2 requires at least 64; at a few hundred packets per
 * second for video, 1024 tolerates the reordering seen on mobile paths without rejecting late but
 * genuine packets that the jitter buffer could still use.
 */
#define CR_SRTP_WINDOW 1024

struct cr_srtp {
    srtp_t tx; /* ssrc_any_outbound, local key */
    srtp_t rx; /* ssrc_any_inbound, remote key */
};

size_t cr_srtp_key_len(enum cr_srtp_profile p)
{
    switch (p) {
    case CR_SRTP_AES128_CM_SHA1_80:
    case CR_SRTP_AEAD_AES_128_GCM:
        return SRTP_AES_128_KEY_LEN;
    }
    return 0;
}

size_t cr_srtp_salt_len(enum cr_srtp_profile p)
{
    switch (p) {
    case CR_SRTP_AES128_CM_SHA1_80:
        return SRTP_SALT_LEN; /* 112-bit salt, RFC 3711 section 8.2 */
    case CR_SRTP_AEAD_AES_128_GCM:
        return SRTP_AEAD_SALT_LEN; /* 96-bit salt, RFC 7714 section 12 */
    }
    return 0;
}

static pthread_once_t cr__srtp_once = PTHREAD_ONCE_INIT;
static int cr__srtp_init_rc = CR_ECRYPTO;

static void cr__srtp_init_once(void)
{
    cr__srtp_init_rc = srtp_init() == srtp_err_status_ok ? 0 : CR_ECRYPTO;
}

int cr_srtp_global_init(void)
{
    /* srtp_init() registers the cipher and auth types in process-wide tables and is not safe to run
     * twice concurrently; pthread_once makes it so from any media worker. */
    if (pthread_once(&cr__srtp_once, cr__srtp_init_once) != 0)
        return CR_ECRYPTO;
    return cr__srtp_init_rc;
}

/* Fills the RTP and RTCP crypto policies of one direction. Returns 0 or CR_EINVAL. */
static int cr__srtp_crypto_policy(srtp_policy_t *pol, enum cr_srtp_profile profile)
{
    switch (profile) {
    case CR_SRTP_AES128_CM_SHA1_80:
        srtp_crypto_policy_set_rtp_default(&pol->rtp);
        srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
        return 0;
    case CR_SRTP_AEAD_AES_128_GCM:
        /* RFC 7714 section 14.2: AEAD_AES_128_GCM, 16-octet tag, for both SRTP and SRTCP. */
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
        return 0;
    }
    return CR_EINVAL;
}

static int cr__srtp_policy(srtp_policy_t *pol, enum cr_srtp_profile profile, srtp_ssrc_type_t type,
                           uint8_t *key)
{
    memset(pol, 0, sizeof(*pol));
    if (cr__srtp_crypto_policy(pol, profile) != 0)
        return CR_EINVAL;
    pol->ssrc.type = type;
    pol->key = key;
    pol->window_size = CR_SRTP_WINDOW;
    /* The relay answers NACKs (RFC 4585 section 6.2.1) by resending the very packet it forwarded, same
     * sequence number and payload, so the outbound side must accept a repeated index. This is safe only
     * because the bytes are identical: the keystream is reused on the same plaintext. */
    pol->allow_repeat_tx = 1;
    pol->next = NULL;
    return 0;
}

int cr_srtp_new(cr_srtp_t **out, enum cr_srtp_profile profile, const uint8_t *tx_key,
                const uint8_t *rx_key)
{
    if (out == NULL || tx_key == NULL || rx_key == NULL)
        return CR_EINVAL;
    *out = NULL;
    size_t klen = cr_srtp_key_len(profile) + cr_srtp_salt_len(profile);
    if (klen == 0)
        return CR_EINVAL;
    int rc = cr_srtp_global_init();
    if (rc != 0)
        return rc;

    /* srtp_policy_t.key is not const; libsrtp copies the key into the session during srtp_create, so
     * local copies that are wiped afterwards keep the caller's buffers untouched. */
    uint8_t tx[SRTP_AES_ICM_128_KEY_LEN_WSALT], rx[SRTP_AES_ICM_128_KEY_LEN_WSALT];
    _Static_assert(SRTP_AES_ICM_128_KEY_LEN_WSALT >= SRTP_AES_GCM_128_KEY_LEN_WSALT, "key buffer");
    memcpy(tx, tx_key, klen);
    memcpy(rx, rx_key, klen);

    srtp_policy_t pol_out, pol_in;
    cr__srtp_policy(&pol_out, profile, ssrc_any_outbound, tx);
    cr__srtp_policy(&pol_in, profile, ssrc_any_inbound, rx);

    cr_srtp_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = CR_ENOMEM;
        goto Exit;
    }
    srtp_err_status_t st = srtp_create(&s->tx, &pol_out);
    if (st == srtp_err_status_ok)
        st = srtp_create(&s->rx, &pol_in);
    if (st != srtp_err_status_ok) {
        cr_srtp_free(s);
        rc = st == srtp_err_status_alloc_fail ? CR_ENOMEM : CR_ECRYPTO;
        goto Exit;
    }
    *out = s;
    rc = 0;
Exit:
    /* Plain memset may be elided for a dead buffer; the volatile pointer keeps the wipe. */
    {
        volatile uint8_t *vt = tx, *vr = rx;
        for (size_t i = 0; i < sizeof(tx); i++) {
            vt[i] = 0;
            vr[i] = 0;
        }
    }
    return rc;
}

void cr_srtp_free(cr_srtp_t *s)
{
    if (s == NULL)
        return;
    if (s->tx != NULL)
        srtp_dealloc(s->tx);
    if (s->rx != NULL)
        srtp_dealloc(s->rx);
    free(s);
}

/* Maps a libsrtp status on the receive path to a CR_E* code. */
static int cr__srtp_unprotect_err(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        return CR_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
    case srtp_err_status_pkt_idx_old:
        return CR_EREPLAY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
        return CR_EMALFORMED; /* header claims more CSRCs/extension than the packet holds */
    default:
        return CR_ECRYPTO;
    }
}

/* Shared checks for protect: libsrtp writes the tag (and for SRTCP the index) past *len. */
static int cr__srtp_protect_check(const cr_srtp_t *s, const uint8_t *pkt, const size_t *len, size_t cap,
                                  size_t min)
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
    int rc = cr__srtp_protect_check(s, pkt, len, cap, CR_SRTP_RTP_MIN);
    if (rc != 0)
        return rc;
    int n = (int)*len;
    if (srtp_protect(s->tx, pkt, &n) != srtp_err_status_ok)
        return CR_ECRYPTO;
    *len = (size_t)n;
    return 0;
}

int cr_srtp_protect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap)
{
    int rc = cr__srtp_protect_check(s, pkt, len, cap, CR_SRTP_RTCP_MIN);
    if (rc != 0)
        return rc;
    int n = (int)*len;
    if (srtp_protect_rtcp(s->tx, pkt, &n) != srtp_err_status_ok)
        return CR_ECRYPTO;
    *len = (size_t)n;
    return 0;
}

int cr_srtp_unprotect(cr_srtp_t *s, uint8_t *pkt, size_t *len)
{
    if (s == NULL || pkt == NULL || len == NULL)
        return CR_EINVAL;
    if (*len < CR_SRTP_RTP_MIN || *len > INT_MAX)
        return CR_EMALFORMED;
    int n = (int)*len;
    int rc = cr__srtp_unprotect_err(srtp_unprotect(s->rx, pkt, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int cr_srtp_unprotect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len)
{
    if (s == NULL || pkt == NULL || len == NULL)
        return CR_EINVAL;
    if (*len < CR_SRTP_RTCP_MIN || *len > INT_MAX)
        return CR_EMALFORMED;
    int n = (int)*len;
    int rc = cr__srtp_unprotect_err(srtp_unprotect_rtcp(s->rx, pkt, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}
