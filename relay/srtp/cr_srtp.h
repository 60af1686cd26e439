/*
 * SRTP/SRTCP sessions (RFC 3711; AEAD_AES_128_GCM per RFC 7714) keyed from DTLS-SRTP (RFC 5764), on
 * OpenSSL's EVP ciphers.
 *
 * One cr_srtp_t holds the two directions of one peer: outbound keyed with the local key, inbound with
 * the remote key, for any SSRC. All packet functions work in place and never allocate, lock or log; the
 * session is used by one thread at a time (its media worker). The tag (and for SRTCP the E-flag/index
 * word) is written after the packet: protect needs cap >= len + CR_SRTP_MAX_TRAILER.
 *
 * Per-SSRC state (rollover counter, highest index, replay window) lives in fixed tables inside the
 * session: CR_SRTP_TX_SSRCS outbound and CR_SRTP_RX_SSRCS inbound SSRCs. Beyond the outbound cap protect
 * fails with CR_EFULL; an outbound entry is never evicted, since starting an SSRC over at rollover
 * counter 0 could encrypt a second packet under an index already used (RFC 3711 section 9.1). Beyond
 * the inbound cap the least recently authenticated SSRC is evicted if it has been silent for
 * CR_SRTP_RX_STALE authenticated packets of the session, else unprotect fails with CR_EFULL.
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

/**
 * Room to leave after a packet for protect. The most either profile writes is 20 bytes (SRTCP with
 * GCM: 16-byte tag + 4-byte index); the figure is libsrtp's SRTP_MAX_TRAILER_LEN plus the SRTCP index,
 * kept so that callers' buffer layouts did not change when libsrtp was replaced.
 */
#define CR_SRTP_MAX_TRAILER 148

/** Outbound SSRCs per session (a subscriber sends two media SSRCs and one RTCP SSRC). */
#define CR_SRTP_TX_SSRCS 16
/** Inbound SSRCs per session (a publisher sends audio, up to three video layers and their RTX). */
#define CR_SRTP_RX_SSRCS 16
/** Authenticated packets an inbound SSRC must have been silent for before it may be evicted. */
#define CR_SRTP_RX_STALE 16384u

/** Master key + salt lengths (bytes) of a profile; 0 for an unknown profile. */
size_t cr_srtp_key_len(enum cr_srtp_profile p);
size_t cr_srtp_salt_len(enum cr_srtp_profile p);

/** Fetches the OpenSSL ciphers once per process. Thread-safe; returns 0 or CR_ECRYPTO. */
int cr_srtp_global_init(void);

typedef struct cr_srtp cr_srtp_t;

/**
 * Creates a session (allocates; not for the packet path). tx_key and rx_key are master key || master
 * salt (key_len + salt_len bytes) for sending and receiving; they are only read, and the session keeps
 * derived session keys, not the master keys. Returns 0 and sets *out, or CR_EINVAL/CR_ECRYPTO/CR_ENOMEM.
 */
int cr_srtp_new(cr_srtp_t **out, enum cr_srtp_profile profile, const uint8_t *tx_key, const uint8_t *rx_key);

/** Wipes and frees a session; NULL is a no-op. */
void cr_srtp_free(cr_srtp_t *s);

/**
 * Protects an RTP/RTCP packet in place; *len is updated. Returns 0, CR_EMALFORMED (not a valid RTP
 * header / shorter than an RTCP header), CR_ETOOBIG if cap < *len + CR_SRTP_MAX_TRAILER, CR_EFULL
 * (a new SSRC beyond CR_SRTP_TX_SSRCS), CR_EREPLAY (an RTP index older than the 1024-packet window) or
 * CR_ECRYPTO (keys exhausted, or OpenSSL failed). An RTP index already sent is accepted: the relay
 * answers a NACK by resending the same packet with the same sequence number (libsrtp's
 * allow_repeat_tx); this is safe only because the bytes are the same.
 */
int cr_srtp_protect(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);
int cr_srtp_protect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);

/**
 * Unprotects in place; *len is updated. Returns 0, CR_EAUTH (authentication failed), CR_EREPLAY
 * (replayed or older than the replay window: 1024 packets for RTP, 128 for RTCP), CR_EMALFORMED (too
 * short, or not a valid RTP header) or CR_EFULL (a new SSRC and no inbound slot free or stale). State is
 * changed only by a packet that authenticated. On failure the packet's bytes may have been changed.
 */
int cr_srtp_unprotect(cr_srtp_t *s, uint8_t *pkt, size_t *len);
int cr_srtp_unprotect_rtcp(cr_srtp_t *s, uint8_t *pkt, size_t *len);

#endif
