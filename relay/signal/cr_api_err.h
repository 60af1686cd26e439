/*
 * Numbered API errors (as Janus numbers its API errors in one header): every refusal the relay sends
 * over HTTP or signaling carries one of these codes, its HTTP status and a message. Codes are stable:
 * clients and docs depend on them. The first three digits are the HTTP status.
 */
#ifndef CR_API_ERR_H
#define CR_API_ERR_H

#define CR_API_ERR_MAP(X)                                                                   \
    X(BAD_CLASS_ID, 4001, 400, "invalid class id (1-64 characters of A-Z a-z 0-9 _ -)")     \
    X(BAD_SDP, 4002, 400, "malformed SDP offer")                                           \
    X(BAD_OFFER, 4003, 400, "SDP offer lacks ICE credentials, fingerprint or rtcp-mux")     \
    X(NOT_FOUND, 4041, 404, "no such resource")                                            \
    X(NOT_LIVE, 4042, 404, "class is not live")                                            \
    X(NO_ROUTE, 4043, 404, "no such endpoint")                                             \
    X(METHOD, 4051, 405, "method not allowed")                                             \
    X(NEGOTIATE, 4061, 406, "no common codec (video H264 packetization-mode=1 or VP8, audio opus)") \
    X(TOO_BIG, 4131, 413, "request body too large")                                        \
    X(CONTENT_TYPE, 4151, 415, "Content-Type must be application/sdp")                    \
    X(INTERNAL, 5001, 500, "internal error")                                               \
    X(CLASS_FULL, 5031, 503, "class has reached its subscriber limit")                     \
    X(RELAY_FULL, 5032, 503, "relay has reached its session or class limit")

enum cr_api_err {
#define CR__API_ENUM(name, code, status, text) CR_API_##name = code,
    CR_API_ERR_MAP(CR__API_ENUM)
#undef CR__API_ENUM
};

/** HTTP status of an API error code (500 for an unknown code). */
int cr_api_err_status(int code);

/** Default message of an API error code. */
const char *cr_api_err_text(int code);

#endif
