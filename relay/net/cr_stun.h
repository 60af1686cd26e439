/*
 * STUN messages as ICE uses them (RFC 8489, ICE attributes RFC 8445 section 16.1), enough for an
 * ICE-lite agent to answer binding requests and for a test client to send them.
 *
 * cr_stun_parse() returns views into the packet; integrity and fingerprint are verified separately,
 * because the key depends on the USERNAME the caller looks up first.
 */
#ifndef CR_STUN_H
#define CR_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CR_STUN_HDR_LEN 20
#define CR_STUN_MAGIC 0x2112A442u
#define CR_STUN_MAX_ATTRS 32 /* more attributes than this make a message malformed */

enum {
    CR_STUN_BINDING_REQUEST = 0x0001,
    CR_STUN_BINDING_SUCCESS = 0x0101,
    CR_STUN_BINDING_ERROR = 0x0111,
    CR_STUN_BINDING_INDICATION = 0x0011,
};

enum {
    CR_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    CR_STUN_ATTR_USERNAME = 0x0006,
    CR_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    CR_STUN_ATTR_ERROR_CODE = 0x0009,
    CR_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    CR_STUN_ATTR_PRIORITY = 0x0024,
    CR_STUN_ATTR_USE_CANDIDATE = 0x0025,
    CR_STUN_ATTR_FINGERPRINT = 0x8028,
    CR_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    CR_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/** A parsed STUN message; pointers are views into the packet. */
typedef struct cr_stun_msg {
    uint16_t type;
    uint16_t length; /* body length from the header */
    uint8_t tid[12];
    const uint8_t *username; /* NULL if absent */
    size_t username_len;
    size_t integrity_off;   /* offset of the MESSAGE-INTEGRITY attribute header; 0 if absent */
    size_t fingerprint_off; /* offset of the FINGERPRINT attribute header; 0 if absent */
    uint32_t priority;      /* 0 if absent */
    uint8_t use_candidate;
    uint8_t ice_controlling;
    uint8_t ice_controlled;
    uint64_t tiebreaker;
    uint16_t error_code; /* class * 100 + number, 0 if absent */
    uint8_t has_xor_mapped;
    struct sockaddr_storage xor_mapped; /* decoded XOR-MAPPED-ADDRESS (IPv4 or IPv6) */
} cr_stun_msg_t;

/**
 * Returns 1 if data looks like STUN (RFC 7983: first byte 0..3, magic cookie, length a multiple of 4
 * that matches len), else 0.
 */
int cr_stun_is_stun(const uint8_t *data, size_t len);

/**
 * Parses a STUN message. Returns 0, CR_ETRUNC, or CR_EMALFORMED (bad header, an attribute past the
 * end, more than CR_STUN_MAX_ATTRS attributes, attributes after FINGERPRINT, bad address family).
 */
int cr_stun_parse(const uint8_t *data, size_t len, cr_stun_msg_t *out);

/**
 * Verifies MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the attribute, with the length field
 * adjusted, RFC 8489 section 14.5) with the short-term key. Returns 0, CR_ENOTFOUND if the message
 * has none, or CR_EAUTH if it does not match. data is the same buffer given to cr_stun_parse().
 */
int cr_stun_check_integrity(const uint8_t *data, size_t len, const cr_stun_msg_t *m,
                            const uint8_t *key, size_t key_len);

/** Verifies FINGERPRINT (CRC-32 XOR 0x5354554e). Returns 0, CR_ENOTFOUND or CR_EAUTH. */
int cr_stun_check_fingerprint(const uint8_t *data, size_t len, const cr_stun_msg_t *m);

/**
 * Writes a binding success response for transaction tid with XOR-MAPPED-ADDRESS = mapped (IPv4 or
 * IPv6), MESSAGE-INTEGRITY with key, and FINGERPRINT. Returns bytes written or CR_ETOOBIG/CR_EINVAL.
 */
int cr_stun_write_binding_success(uint8_t *buf, size_t cap, const uint8_t tid[12],
                                  const struct sockaddr *mapped, const uint8_t *key, size_t key_len);

/**
 * Writes a binding error response with ERROR-CODE (e.g. 400, 401, 487) and FINGERPRINT, without
 * integrity. Returns bytes written or CR_ETOOBIG.
 */
int cr_stun_write_binding_error(uint8_t *buf, size_t cap, const uint8_t tid[12], uint16_t code,
                                const char *reason);

/** Parameters of a binding request written by an ICE client (load generator, tests). */
typedef struct cr_stun_request {
    const uint8_t *tid; /* 12 bytes */
    const char *username; /* "remote_ufrag:local_ufrag" */
    const uint8_t *key;   /* remote ice-pwd */
    size_t key_len;
    uint32_t priority;
    int controlling;
    uint64_t tiebreaker;
    int use_candidate;
} cr_stun_request_t;

/**
 * Writes a binding request with USERNAME, PRIORITY, ICE-CONTROLLING/CONTROLLED, USE-CANDIDATE (if
 * set), MESSAGE-INTEGRITY and FINGERPRINT. Returns bytes written or CR_ETOOBIG/CR_EINVAL.
 */
int cr_stun_write_binding_request(uint8_t *buf, size_t cap, const cr_stun_request_t *req);

#endif
