/*
 * Error codes shared by every classrelay module.
 *
 * Functions return int: 0 (or a non-negative count/length) on success and a negative CR_E* code on
 * failure. The table below is the single source of codes and their text, in the style of libuv's
 * UV_ERRNO_MAP, so that cr_strerror() and the numbered API errors can never drift apart.
 */
#ifndef CR_ERR_H
#define CR_ERR_H

#define CR_ERRNO_MAP(X)                                                     \
    X(EINVAL, 1, "invalid argument")                                        \
    X(ETRUNC, 2, "input truncated")                                         \
    X(EMALFORMED, 3, "malformed input")                                     \
    X(ETOOBIG, 4, "input exceeds a limit")                                  \
    X(ENOMEM, 5, "out of memory")                                           \
    X(EUNSUPPORTED, 6, "not supported")                                     \
    X(EAUTH, 7, "authentication failed")                                    \
    X(EFULL, 8, "table or queue full")                                      \
    X(ENOTFOUND, 9, "not found")                                            \
    X(ESTATE, 10, "operation not valid in this state")                      \
    X(EIO, 11, "input/output error")                                        \
    X(ECRYPTO, 12, "cryptographic operation failed")                        \
    X(EREPLAY, 13, "replayed packet")                                       \
    X(ENEGOTIATE, 14, "no common codec or transport parameters")            \
    X(EAGAIN, 15, "try again later")                                        \
    X(ECONFIG, 16, "bad configuration")

/** Negative error codes. */
enum {
#define CR__ERR_ENUM(name, num, text) CR_##name = -(num),
    CR_ERRNO_MAP(CR__ERR_ENUM)
#undef CR__ERR_ENUM
};

/** Returns a static, human-readable text for a CR_E* code (or "unknown error"). */
const char *cr_strerror(int err);

/** Returns the symbolic name ("EINVAL") for a CR_E* code (or "EUNKNOWN"). */
const char *cr_err_name(int err);

#endif
