/*
 * Internals of the SRTP module shared by its files: the session layout, the per-SSRC tables
 * (cr_srtp_ssrc.c), key derivation and HMAC (cr_srtp_kdf.c) and the two transforms (cr_srtp_cm.c,
 * cr_srtp_gcm.c). Nothing outside relay/srtp includes this.
 */
#ifndef CR_SRTP_INT_H
#define CR_SRTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cr_be.h"
#include "cr_srtp.h"

/* Replay windows in packets. RFC 3711 section 3.3.2 requires at least 64; at a few hundred packets per
 * second for video, 1024 tolerates the reordering seen on mobile paths without rejecting late but
 * genuine packets a jitter buffer could still use. SRTCP gets libsrtp's 128. */
#define CR__SRTP_WINDOW 1024u
#define CR__SRTP_RTCP_WINDOW 128u
/* Ring bitmaps (RFC 6479): one word more than the window so that the word being refilled never
 * holds a bit still inside the window. */
#define CR__SRTP_WINDOW_WORDS (CR__SRTP_WINDOW / 64u + 1u)
#define CR__SRTP_RTCP_WINDOW_WORDS (CR__SRTP_RTCP_WINDOW / 64u + 1u)

#define CR__SRTP_CM_TAG 10    /* HMAC-SHA1 truncated to 80 bits (RFC 3711 section 5.2) */
#define CR__SRTP_GCM_TAG 16   /* RFC 7714 section 14.2 */
#define CR__SRTP_SRTCP_EIDX 4 /* E flag + 31-bit SRTCP index (RFC 3711 section 3.4) */
#define CR__SRTP_SALT_MAX 14  /* 112-bit session salt (AES-CM); GCM uses the first 12 bytes */
#define CR__SRTP_INDEX_MAX ((UINT64_C(1) << 48) - 1) /* RFC 3711 section 9.2: rekey before this */
#define CR__SRTCP_INDEX_MAX 0x7fffffffu

/* RTP fixed header (RFC 3550 section 5.1) and RTCP header with the sender's SSRC (section 6.4.1). */
#define CR__SRTP_RTP_MIN 12
#define CR__SRTP_RTCP_MIN 8

/*
 * HMAC-SHA1 keyed once (RFC 2104): the SHA-1 states after absorbing key^ipad and key^opad. A packet
 * starts from a struct copy of them. OpenSSL 3.0's EVP_MAC and EVP_MD_CTX re-initialisation free and
 * reallocate the provider's digest context on every use, so the digest runs on SHA_CTX directly.
 */
struct cr__srtp_hmac {
    SHA_CTX inner, outer;
};

/* Session keys of one direction for one of SRTP or SRTCP (RFC 3711 section 4.3). */
struct cr__srtp_keys {
    EVP_CIPHER_CTX *cipher; /* AES-128-CTR or AES-128-GCM, keyed once; only the IV changes per packet */
    uint8_t salt[CR__SRTP_SALT_MAX]; /* 14 bytes (AES-CM) or 12 (GCM); in the cipher pointer's line */
    struct cr__srtp_hmac auth;       /* AES-CM profile only */
};

/* An outbound SSRC: the highest RTP packet index protected (48 bits: ROC << 16 | SEQ) and the last
 * SRTCP index used. */
struct cr__srtp_tx {
    uint64_t rtp_top;
    uint32_t ssrc;
    uint32_t rtcp_index; /* 0: none sent yet; the first SRTCP packet carries index 1, as libsrtp's */
    uint8_t rtp_seen;
};

/* An inbound SSRC: highest authenticated indices and the replay bitmaps (bit i of the ring: index
 * i modulo the ring size was received). */
struct cr__srtp_rx {
    uint64_t rtp_top;
    uint64_t last_use; /* session's authenticated-packet clock at the last packet, for eviction */
    uint64_t rtp_bits[CR__SRTP_WINDOW_WORDS];
    uint64_t rtcp_top;
    uint64_t rtcp_bits[CR__SRTP_RTCP_WINDOW_WORDS];
    uint32_t ssrc;
    uint8_t rtp_seen, rtcp_seen;
};

/* Ordered for the fan-out, where each packet goes to a different session and so starts with cold
 * cache lines: protect reads the first line (profile, table size, the first outbound SSRCs) and the
 * line of tx_rtp's cipher pointer and salt. The session is allocated on a 64-byte boundary. */
struct cr_srtp {
    enum cr_srtp_profile profile;
    unsigned n_tx, n_rx;
    struct cr__srtp_tx tx[CR_SRTP_TX_SSRCS]; /* the first two in the first line */
    struct cr__srtp_keys tx_rtp, tx_rtcp, rx_rtp, rx_rtcp;
    uint64_t rx_clock; /* authenticated inbound packets so far */
    struct cr__srtp_rx rx[CR_SRTP_RX_SSRCS];
};

/* --- cr_srtp.c --- */

/* The cipher fetched by cr_srtp_global_init(): AES-128-GCM for the GCM profile, else AES-128-CTR. */
const EVP_CIPHER *cr__srtp_cipher(enum cr_srtp_profile p);

/* --- cr_srtp_kdf.c --- */

/* Derives the RTP (labels 0-2) and RTCP (labels 3-5) session keys of one direction from master key ||
 * master salt (RFC 3711 section 4.3, key derivation rate 0) and keys their contexts; encrypt is 1 for
 * the outbound direction. Returns 0, CR_ENOMEM or CR_ECRYPTO; on failure the caller frees. */
int cr__srtp_keys_init(struct cr__srtp_keys *rtp, struct cr__srtp_keys *rtcp, enum cr_srtp_profile p,
                       const uint8_t *master, int encrypt);

/* Frees the cipher context and wipes the keys; safe on a zeroed struct. */
void cr__srtp_keys_dispose(struct cr__srtp_keys *k);

/* HMAC-SHA1 of a || b (b may be NULL with blen 0) into out[20]. Never allocates. */
void cr__srtp_hmac(const struct cr__srtp_hmac *h, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, uint8_t out[20]);

/* --- cr_srtp_cm.c: AES_CM_128_HMAC_SHA1_80 (RFC 3711 sections 4.1.1, 4.2) --- */

/* pkt[0, len) is an RTP packet with hl header bytes: encrypts the payload and appends the 10-byte tag. */
int cr__srtp_cm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                        uint64_t index);
/* pkt[0, len) ends with the tag: checks it, then decrypts the payload. 0 or CR_EAUTH/CR_ECRYPTO. */
int cr__srtp_cm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                          uint64_t index);
/* Encrypts RTCP pkt[8, len) and appends E|index and the tag (14 bytes). */
int cr__srtcp_cm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t index);
/* pkt[0, len) ends with E|index and the tag: checks the tag, then decrypts if E is set. */
int cr__srtcp_cm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t eidx);

/* --- cr_srtp_gcm.c: AEAD_AES_128_GCM (RFC 7714 sections 8, 9, 17) --- */

int cr__srtp_gcm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                         uint64_t index);
int cr__srtp_gcm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t hl, size_t len, uint32_t ssrc,
                           uint64_t index);
/* Encrypts RTCP pkt[8, len) and appends the tag, then E|index (20 bytes). */
int cr__srtcp_gcm_protect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t index);
/* pkt[0, len) ends with the tag, then E|index. */
int cr__srtcp_gcm_unprotect(struct cr__srtp_keys *k, uint8_t *pkt, size_t len, uint32_t ssrc, uint32_t eidx);

/* --- cr_srtp_ssrc.c: per-SSRC state, index estimation, replay windows --- */

/* The outbound entry of ssrc, created if new; NULL when the table is full. */
struct cr__srtp_tx *cr__srtp_tx_get(cr_srtp_t *s, uint32_t ssrc);

/* The inbound entry of ssrc, or NULL. */
struct cr__srtp_rx *cr__srtp_rx_find(cr_srtp_t *s, uint32_t ssrc);
/* Whether a new inbound SSRC would find a slot (free or stale): 0 or CR_EFULL. Changes nothing. */
int cr__srtp_rx_room(const cr_srtp_t *s);
/* Claims a slot for a new inbound SSRC that has just authenticated; cr__srtp_rx_room() said 0. */
struct cr__srtp_rx *cr__srtp_rx_add(cr_srtp_t *s, uint32_t ssrc);

/* The 48-bit index of seq given the highest index so far (RFC 3711 section 3.3.1, as libsrtp does it:
 * rollover counter 0 until the highest index passes 2^15). */
uint64_t cr__srtp_estimate(uint64_t top, uint16_t seq);

/* Replay check of index against a window: 0 if new, CR_EREPLAY if seen or older than the window. */
int cr__srtp_replay_check(const uint64_t *bits, unsigned words, unsigned window, int seen, uint64_t top,
                          uint64_t index);
/* Records an authenticated index: advances the top (clearing the words passed) and sets its bit. */
void cr__srtp_replay_add(uint64_t *bits, unsigned words, uint8_t *seen, uint64_t *top, uint64_t index);

#endif
