/*
 * SRTP/SRTCP sessions over libsrtp2 (RFC 3711, AEAD-GCM RFC 7714), keyed from DTLS-SRTP (RFC 5764).
 *
 * One cr_srtp_t holds the two directions of one peer: an outbound policy keyed with the local key and
 * an inbound one with the remote key, both for any SSRC. All functions work in place and never
 * allocate. libsrtp writes the authentication tag after the packet: protect needs
 * cap >= len + CR_SRTP_MAX_TRAILER.
 */
#ifndef CR_SRTP_H
#define CR_SRTP_H

#include <stddef.h>
#include <stdint.h>

/** DTLS-SRTP protection profile ids (RFC 5764 section 4.1.2, RFC 7714 section 14.2). */
enum cr_srtp_profile {
    CR_SRTP_AES128_CM_SHA1_80 = 0x0001,
    CR_SRTP_AEAD_AES_128_GCM = 0x0007,
};

/** Room to leave after a packet for protect (libsrtp's SRTP_MAX_TRAILER_LEN plus SRTCP index). */
#define CR_SRTP_MAX_TRAILER 148

/** Master key + salt lengths (bytes) of a profile; 0 for an unknown profile. */
size_t cr_srtp_key_len(enum cr_srtp_profile p);
size_t cr_srtp_salt_len(enum cr_srtp_profile p);

/** Initialises libsrtp once per process. Thread-safe; returns 0 or CR_ECRYPTO. */
int cr_srtp_global_init(void);

typedef struct cr_srtp cr_srtp_t;

/**
 * Creates a session. tx_key and rx_key are master key || master salt (key_len + salt_len bytes) for
 * sending and receiving; they are copied. Returns 0 and sets *out, or CR_EINVAL/CR_ECRYPTO/CR_ENOMEM.
 */
int cr_srtp_new(cr_srtp_t **out, enum cr_srtp_profile profile, const uint8_t *tx_key,
                const uint8_t *rx_key);

/** Frees a session; NULL is a no-op. */
void cr_srtp_free(cr_srtp_t *s);

/**
 * Protects an RTP/RTCP packet in place; *len is updated. Returns 0, CR_ETOOBIG if cap < *len +
 * CR_SRTP_MAX_TRAILER, or CR_ECRYPTO.
 */
int cr_srtp_protect(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);
int cr_srtp_protect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);

/**
 * Unprotects in place; *len is updated. Returns 0, CR_EAUTH (authentication failed), CR_EREPLAY
 * (replayed or too old), or CR_EMALFORMED (too short).
 */
int cr_srtp_unprotect(cr_srtp_t *s, uint8_t *pkt, size_t *len);
int cr_srtp_unprotect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len);

#endif
