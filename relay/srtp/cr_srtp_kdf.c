/*
 * Session key derivation (RFC 3711 section 4.3; RFC 7714 section 11 for GCM) and the keyed HMAC-SHA1
 * of the AES-CM profile (RFC 3711 section 4.2.1, RFC 2104).
 */
/* SHA1_Init/Update/Final are deprecated in OpenSSL 3.0 but are the only allocation-free way to restart
 * a keyed HMAC there (see struct cr__srtp_hmac); nothing else in this file is deprecated. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/crypto.h>

#include "cr_err.h"
#include "cr_srtp_int.h"

#define CR__SRTP_KEY 16      /* AES-128 session encryption key */
#define CR__SRTP_AUTH_KEY 20 /* HMAC-SHA1 session authentication key (RFC 3711 section 8.2) */

/*
 * One output of the AES-CM PRF (RFC 3711 section 4.3.3): the AES-128 counter-mode keystream under the
 * master key from IV = (master_salt XOR key_id) * 2^16, key_id = label || r. DTLS-SRTP sets no key
 * derivation rate, so r = 0 and key_id is the label in the eighth byte of the 112-bit salt. The
 * GCM profile's 96-bit master salt is zero-padded to 112 bits (RFC 7714 section 11), which is what
 * copying salt_len bytes into a zeroed IV does.
 */
static int derive(EVP_CIPHER_CTX *prf, const uint8_t *master_salt, size_t salt_len, uint8_t label,
                  uint8_t *out, size_t n)
{
    uint8_t iv[16] = {0};
    memcpy(iv, master_salt, salt_len);
    iv[7] ^= label;
    memset(out, 0, n);
    int outl;
    if (EVP_EncryptInit_ex(prf, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(prf, out, &outl, out, (int)n) != 1)
        return CR_ECRYPTO;
    return 0;
}

static void hmac_init(struct cr__srtp_hmac *h, const uint8_t key[CR__SRTP_AUTH_KEY])
{
    uint8_t blk[64];
    memset(blk, 0x36, sizeof(blk));
    for (size_t i = 0; i < CR__SRTP_AUTH_KEY; i++)
        blk[i] ^= key[i];
    SHA1_Init(&h->inner);
    SHA1_Update(&h->inner, blk, sizeof(blk));
    memset(blk, 0x5c, sizeof(blk));
    for (size_t i = 0; i < CR__SRTP_AUTH_KEY; i++)
        blk[i] ^= key[i];
    SHA1_Init(&h->outer);
    SHA1_Update(&h->outer, blk, sizeof(blk));
    OPENSSL_cleanse(blk, sizeof(blk));
}

void cr__srtp_hmac(const struct cr__srtp_hmac *h, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, uint8_t out[20])
{
    /* A struct copy restarts from the keyed state; once a block has been hashed the copy no longer
     * holds it, so the stack needs no wipe. */
    SHA_CTX c = h->inner;
    uint8_t inner[SHA_DIGEST_LENGTH];
    SHA1_Update(&c, a, alen);
    if (blen > 0)
        SHA1_Update(&c, b, blen);
    SHA1_Final(inner, &c);
    c = h->outer;
    SHA1_Update(&c, inner, sizeof(inner));
    SHA1_Final(out, &c);
}

/* Session keys of SRTP (label 0) or SRTCP (label 3): encryption key, authentication key (AES-CM
 * only) and salt at label, label + 1 and label + 2 (RFC 3711 section 4.3.2). */
static int keys_one(struct cr__srtp_keys *k, EVP_CIPHER_CTX *prf, const uint8_t *master_salt,
                    enum cr_srtp_profile p, uint8_t label, int encrypt)
{
    uint8_t ek[CR__SRTP_KEY], ak[CR__SRTP_AUTH_KEY];
    size_t sl = cr_srtp_salt_len(p);
    int gcm = p == CR_SRTP_AEAD_AES_128_GCM;
    int rc = derive(prf, master_salt, sl, label, ek, sizeof(ek));
    if (rc == 0)
        rc = derive(prf, master_salt, sl, (uint8_t)(label + 2), k->salt, sl);
    if (rc == 0 && !gcm) {
        rc = derive(prf, master_salt, sl, (uint8_t)(label + 1), ak, sizeof(ak));
        if (rc == 0)
            hmac_init(&k->auth, ak);
    }
    if (rc == 0 && (k->cipher = EVP_CIPHER_CTX_new()) == NULL)
        rc = CR_ENOMEM;
    /* Counter mode is its own inverse: the CTR contexts always encrypt. */
    if (rc == 0 && EVP_CipherInit_ex(k->cipher, cr__srtp_cipher(p), NULL, ek, NULL, gcm ? encrypt : 1) != 1)
        rc = CR_ECRYPTO;
    OPENSSL_cleanse(ek, sizeof(ek));
    OPENSSL_cleanse(ak, sizeof(ak));
    return rc;
}

int cr__srtp_keys_init(struct cr__srtp_keys *rtp, struct cr__srtp_keys *rtcp, enum cr_srtp_profile p,
                       const uint8_t *master, int encrypt)
{
    EVP_CIPHER_CTX *prf = EVP_CIPHER_CTX_new();
    if (prf == NULL)
        return CR_ENOMEM;
    const uint8_t *master_salt = master + cr_srtp_key_len(p);
    int rc = CR_ECRYPTO;
    if (EVP_EncryptInit_ex(prf, cr__srtp_cipher(CR_SRTP_AES128_CM_SHA1_80), NULL, master, NULL) == 1)
        rc = keys_one(rtp, prf, master_salt, p, 0, encrypt);
    if (rc == 0)
        rc = keys_one(rtcp, prf, master_salt, p, 3, encrypt);
    EVP_CIPHER_CTX_free(prf); /* OpenSSL wipes the key schedule */
    return rc;
}

void cr__srtp_keys_dispose(struct cr__srtp_keys *k)
{
    EVP_CIPHER_CTX_free(k->cipher);
    OPENSSL_cleanse(k, sizeof(*k));
}
