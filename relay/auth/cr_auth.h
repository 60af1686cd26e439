/*
 * Tokens: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS "HS256", RFC 7515 section 3)
 * under the relay's secret. A token names a role, the class it is valid for ("*" = every class),
 * the participant (sub), its school and display name, and its validity (iat, exp).
 *
 * Verification is strict and bounded: at most CR_AUTH_TOKEN_MAX bytes, exactly three base64url
 * parts without padding, header {"alg":"HS256"} (typ "JWT" if present), the signature checked in
 * constant time before the payload is parsed, a flat payload object with no duplicate keys.
 * Parsers here never log; callers count and log refusals.
 */
#ifndef CR_AUTH_H
#define CR_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define CR_AUTH_TOKEN_MAX 4096 /* bytes of a whole token */
#define CR_AUTH_ID_MAX 64      /* class, participant and school ids */
#define CR_AUTH_NAME_MAX 128   /* display name, bytes of UTF-8 */
#define CR_AUTH_SECRET_MIN 32  /* bytes: shorter secrets are refused by the config */
#define CR_AUTH_SECRET_MAX 256
#define CR_AUTH_IAT_SKEW_S 300 /* a token issued further in the future is refused */
#define CR_AUTH_TTL_MAX_S (30 * 24 * 3600)

/** Roles, in the order of the rules table (cr_class.h). */
enum cr_role { CR_ROLE_TEACHER = 0, CR_ROLE_CLASSROOM = 1, CR_ROLE_OPERATOR = 2, CR_ROLE_ADMIN = 3 };
#define CR_ROLE_COUNT 4

/** The claims of a verified token, or those to sign. Strings are NUL-terminated. */
typedef struct cr_claims {
    enum cr_role role;
    char class_id[CR_AUTH_ID_MAX + 1]; /* "class": a class id or "*" */
    char sub[CR_AUTH_ID_MAX + 1];      /* participant id; defaults to the role name */
    char school[CR_AUTH_ID_MAX + 1];   /* "" if absent */
    char name[CR_AUTH_NAME_MAX + 1];   /* "" if absent */
    int64_t iat, exp;                  /* Unix seconds */
} cr_claims_t;

/* Verification failures, negative and distinct from the CR_E* codes of cr_err.h. */
#define CR_AUTH_ERR_MAP(X)                                                        \
    X(TOO_LONG, 101, "token longer than 4096 bytes")                              \
    X(MALFORMED, 102, "token is not a well-formed JWT")                            \
    X(BAD_ALG, 103, "token algorithm is not HS256")                                \
    X(BAD_SIGNATURE, 104, "token signature does not verify")                       \
    X(BAD_CLAIMS, 105, "token claims are missing or invalid")                      \
    X(EXPIRED, 106, "token expired")                                               \
    X(FUTURE, 107, "token issued in the future")                                   \
    X(NO_KEY, 108, "no signing secret")

enum {
#define CR__AUTH_ENUM(name, num, text) CR_AUTH_E##name = -(num),
    CR_AUTH_ERR_MAP(CR__AUTH_ENUM)
#undef CR__AUTH_ENUM
};

/** Text of a CR_AUTH_E* code (or of a CR_E* code via cr_strerror). */
const char *cr_auth_strerror(int err);

/** "teacher", "classroom", "operator", "admin". */
const char *cr_role_name(enum cr_role r);

/** Parses a role name (len bytes, not necessarily NUL-terminated). Returns 0 or -1. */
int cr_role_parse(const char *s, size_t len, enum cr_role *out);

/** 1 if s[0..len) is a valid id: 1..64 characters of [A-Za-z0-9_-]. */
int cr_auth_id_valid(const char *s, size_t len);

/**
 * Signs claims c with key (key_len bytes) into out (cap bytes, NUL-terminated). Empty school/name
 * are omitted, an empty sub becomes the role name. Returns the token length, CR_ETOOBIG if out is too
 * small, CR_EINVAL for invalid claims or CR_ECRYPTO.
 */
int cr_auth_sign(const uint8_t *key, size_t key_len, const cr_claims_t *c, char *out, size_t cap);

/**
 * Verifies token (len bytes, borrowed) at Unix time now. On success fills *out and returns 0; else a
 * CR_AUTH_E* code and *out is zeroed. A zero-length key always fails (CR_AUTH_ENO_KEY).
 */
int cr_auth_verify(const uint8_t *key, size_t key_len, const char *token, size_t len, int64_t now,
                   cr_claims_t *out);

/** 1 if the token's class claim admits class_id ("*" admits all). */
int cr_auth_class_ok(const cr_claims_t *c, const char *class_id);

/**
 * Extracts the token from an Authorization header value "Bearer <token>" (case-insensitive scheme,
 * RFC 6750 section 2.1). Returns a view into hdr (*tok, *tok_len) and 0, or -1.
 */
int cr_auth_bearer(const char *hdr, size_t len, const char **tok, size_t *tok_len);

/* --- base64url (RFC 4648 section 5) without padding --- */

/** Encodes n bytes; out needs 4*ceil(n/3)+1 bytes. Returns the length written (NUL not counted) or CR_ETOOBIG. */
int cr_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/**
 * Decodes strictly: no padding, no whitespace, no non-zero trailing bits. Returns the decoded length,
 * CR_EMALFORMED or CR_ETOOBIG (out too small).
 */
int cr_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
