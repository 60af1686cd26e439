/*
 * DTLS-SRTP (RFC 5764, RFC 8842) with OpenSSL over memory BIOs: the caller moves datagrams in and
 * out, so the same code serves the relay's media workers (server role) and the load generator
 * (client role) without owning a socket.
 *
 * A cr_dtls_cert_t (self-signed ECDSA P-256, generated at start-up) and a cr_dtls_ctx_t are shared,
 * immutable after creation, and may be used from several threads; a cr_dtls_t belongs to one thread.
 */
#ifndef CR_DTLS_H
#define CR_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "cr_srtp.h"

typedef struct cr_dtls_cert cr_dtls_cert_t;
typedef struct cr_dtls_ctx cr_dtls_ctx_t;
typedef struct cr_dtls cr_dtls_t;

/** Generates a fresh self-signed certificate and key. Returns 0 or CR_ECRYPTO/CR_ENOMEM. */
int cr_dtls_cert_new(cr_dtls_cert_t **out);
void cr_dtls_cert_free(cr_dtls_cert_t *c);

/** The certificate's SDP fingerprint, "sha-256 AB:CD:...". Owned by c. */
const char *cr_dtls_cert_fingerprint(const cr_dtls_cert_t *c);

/**
 * Creates an SSL_CTX for DTLS 1.2 with the certificate, use_srtp profiles
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80" (GCM preferred), and peer certificates requested
 * but verified only against the SDP fingerprint. The context takes a reference to cert.
 */
int cr_dtls_ctx_new(cr_dtls_ctx_t **out, cr_dtls_cert_t *cert);
void cr_dtls_ctx_free(cr_dtls_ctx_t *ctx);

enum cr_dtls_state {
    CR_DTLS_HANDSHAKING = 0,
    CR_DTLS_CONNECTED = 1, /* handshake done, peer fingerprint verified, keys available */
    CR_DTLS_FAILED = 2,
    CR_DTLS_CLOSED = 3,    /* close_notify received */
};

/**
 * Creates a DTLS endpoint. is_server selects the role (the relay answers setup:passive, so it is the
 * server). remote_fingerprint ("sha-256 AB:CD:...", copied) is what the peer's certificate must match.
 */
int cr_dtls_new(cr_dtls_t **out, cr_dtls_ctx_t *ctx, int is_server, const char *remote_fingerprint);
void cr_dtls_free(cr_dtls_t *d);

/** Client role: starts the handshake (the first flight becomes available from cr_dtls_output). */
int cr_dtls_connect(cr_dtls_t *d);

/**
 * Feeds one received datagram and advances the handshake. Returns the new state, or a negative CR_E*
 * code for a datagram that was rejected (the state may then be CR_DTLS_FAILED).
 */
int cr_dtls_input(cr_dtls_t *d, const uint8_t *pkt, size_t len);

/**
 * Takes the next datagram to send, if any: copies it into buf and returns its length, 0 when nothing
 * is pending, or CR_ETOOBIG if cap is too small. Call until it returns 0 after every input/timeout.
 */
int cr_dtls_output(cr_dtls_t *d, uint8_t *buf, size_t cap);

/**
 * Handles retransmission timers: call when the time returned by cr_dtls_next_timeout_us has passed.
 * Returns the state.
 */
int cr_dtls_handle_timeout(cr_dtls_t *d, uint64_t now_us);

/** Monotonic time at which cr_dtls_handle_timeout should next be called, or 0 if none. */
uint64_t cr_dtls_next_timeout_us(cr_dtls_t *d, uint64_t now_us);

enum cr_dtls_state cr_dtls_state(const cr_dtls_t *d);

/**
 * After CR_DTLS_CONNECTED: exports the negotiated profile and the SRTP master keys+salts (RFC 5764
 * section 4.2) as seen from this endpoint: local_key is for protecting what we send, remote_key for
 * unprotecting what we receive. Each buffer needs 64 bytes. Returns 0 or CR_ESTATE/CR_ECRYPTO.
 */
int cr_dtls_srtp_keys(cr_dtls_t *d, enum cr_srtp_profile *profile, uint8_t local_key[64],
                      uint8_t remote_key[64]);

#endif
