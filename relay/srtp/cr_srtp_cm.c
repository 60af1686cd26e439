/*
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711): AES-128 in counter mode (section 4.1.1) and HMAC-SHA1 truncated
 * to 80 bits (sections 4.2.1, 5.2), for SRTP and SRTCP. The packet layouts are in sections 3.1 and
 * 3.4. Per packet only the IV of the pre-keyed context changes, so nothing allocates or locks.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "cr_err.h"
#include "cr_srtp_int.h"

/* IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i the 48-bit packet index or the 31-bit SRTCP
 * index (section 4.1.1). */
static void cm_iv(uint8_t iv[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index)
{
    memcpy(iv, salt, 14);
    iv[14] = 0;
    iv[15] = 0;
    iv[4] ^= (uint8_t)(ssrc >> 24);
    iv[5] ^= (uint8_t)(ssrc >> 16);
    iv[6] ^= (uint8_t)(ssrc >> 8);
    iv[7] ^= (uint8_t)ssrc;
    for (int i = 0; i < 6; i++)
        iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

/* XORs the keystream of (ssrc, index) into p[0, n) in place. */
static int cm_crypt(struct cr__srtp_keys *k, uint32_t ssrc, uint64_t index, uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t iv[16];
    int outl;
    cm_iv(iv, k->salt, ssrc, index);
    if (EVP_CipherInit_ex(k->cipher, NULL, NULL, NULL, iv, -1) != 1 ||
        EVP_CipherUpdate(k->cipher, p, &outl, p, (int)n) != 1)
        return CR_ECRYPTO;
    return 0;
}

/* Section 4.2: the SRTP tag covers the authenticated portion (header and encrypted payload) followed
 * by the rollover counter. */
int cr__srtp_cm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                        uint64_t index)
{
    int rc = cm_crypt(k, ssrc, index, pkt + hl, len - hl);
    if (rc != 0)
        return rc;
    uint8_t roc[4], mac[SHA_DIGEST_LENGTH];
    cr__wr32(roc, (uint32_t)(index >> 16));
    cr__srtp_hmac(&k->auth, pkt, len, roc, sizeof(roc), mac);
    memcpy(pkt + len, mac, CR__SRTP_CM_TAG);
    return 0;
}

int cr__srtp_cm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                          uint64_t index)
{
    size_t body = len - CR__SRTP_CM_TAG;
    uint8_t roc[4], mac[SHA_DIGEST_LENGTH];
    cr__wr32(roc, (uint32_t)(index >> 16));
    cr__srtp_hmac(&k->auth, pkt, body, roc, sizeof(roc), mac);
    /* Constant time: a comparison that stops at the first difference tells a forger how many tag
     * bytes were right. */
    if (CRYPTO_memcmp(mac, pkt + body, CR__SRTP_CM_TAG) != 0)
        return CR_EAUTH;
    return cm_crypt(k, ssrc, index, pkt + hl, body - hl);
}

/* Section 3.4: SRTCP encrypts what follows the sender's SSRC, then appends E || SRTCP index and the
 * tag over everything before it. */
int cr__srtcp_cm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t index)
{
    int rc = cm_crypt(k, ssrc, index, pkt + CR__SRTP_RTCP_MIN, len - CR__SRTP_RTCP_MIN);
    if (rc != 0)
        return rc;
    uint8_t mac[SHA_DIGEST_LENGTH];
    cr__wr32(pkt + len, 0x80000000u | index);
    cr__srtp_hmac(&k->auth, pkt, len + CR__SRTP_SRTCP_EIDX, NULL, 0, mac);
    memcpy(pkt + len + CR__SRTP_SRTCP_EIDX, mac, CR__SRTP_CM_TAG);
    return 0;
}

int cr__srtcp_cm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t eidx)
{
    size_t body = len - CR__SRTP_CM_TAG;
    uint8_t mac[SHA_DIGEST_LENGTH];
    cr__srtp_hmac(&k->auth, pkt, body, NULL, 0, mac);
    if (CRYPTO_memcmp(mac, pkt + body, CR__SRTP_CM_TAG) != 0)
        return CR_EAUTH;
    if ((eidx & 0x80000000u) == 0)
        return 0; /* E = 0: sent unencrypted, authenticated only */
    size_t end = body - CR__SRTP_SRTCP_EIDX;
    return cm_crypt(k, ssrc, eidx & CR__SRTCP_INDEX_MAX, pkt + CR__SRTP_RTCP_MIN, end - CR__SRTP_RTCP_MIN);
}
