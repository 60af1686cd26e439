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
    X(BAD_JSON, 4004, 400, "malformed JSON")                                               \
    X(BAD_REQUEST, 4005, 400, "invalid message or parameter")                              \
    X(JSON_LIMIT, 4006, 400, "JSON exceeds a structural limit (depth 4, keys 32 bytes, strings)") \
    X(NOT_JOINED, 4008, 400, "join first")                                                 \
    X(BAD_CLASS_DEF, 4009, 400, "invalid class definition")                                \
    X(NO_TOKEN, 4011, 401, "missing token (Authorization: Bearer)")                        \
    X(BAD_TOKEN, 4012, 401, "invalid token")                                               \
    X(EXPIRED, 4013, 401, "token expired")                                                 \
    X(WRONG_CLASS, 4031, 403, "token not valid for this class")                            \
    X(FORBIDDEN, 4032, 403, "role may not do this in this class")                          \
    X(NOT_INVITED, 4033, 403, "classroom not invited to this class")                       \
    X(NOT_ADMIN, 4034, 403, "admin role required")                                         \
    X(NOT_LOOPBACK, 4035, 403, "admin API is served to loopback peers only")               \
    X(NOT_ON_STAGE, 4036, 403, "classroom may publish only on stage (accepted hand)")      \
    X(NOT_TEACHER, 4037, 403, "teacher is not this class's teacher")                       \
    X(KICKED, 4038, 403, "kicked")                                                         \
    X(NOT_OWNER, 4039, 403, "not your session")                                            \
    X(NOT_FOUND, 4041, 404, "no such resource")                                            \
    X(NOT_LIVE, 4042, 404, "class is not live")                                            \
    X(NO_ROUTE, 4043, 404, "no such endpoint")                                             \
    X(NO_CLASS, 4044, 404, "no such class")                                                \
    X(NO_PARTICIPANT, 4045, 404, "no such participant")                                    \
    X(METHOD, 4051, 405, "method not allowed")                                             \
    X(NEGOTIATE, 4061, 406, "no common codec (video H264 packetization-mode=1 or VP8, audio opus)") \
    X(TIMEOUT, 4081, 408, "idle or join timeout")                                          \
    X(TEACHER_BUSY, 4091, 409, "class already has a teacher publishing")                   \
    X(ENDED, 4092, 409, "class has ended")                                                 \
    X(CLASS_EXISTS, 4093, 409, "class already exists")                                     \
    X(BAD_STATE, 4094, 409, "invalid class state change")                                  \
    X(TOO_BIG, 4131, 413, "request body too large")                                        \
    X(MSG_TOO_BIG, 4132, 413, "signaling message too large")                               \
    X(CONTENT_TYPE, 4151, 415, "wrong Content-Type (application/sdp for offers, application/json for the admin API)") \
    X(RATE, 4291, 429, "too many messages")                                                \
    X(SLOW, 4292, 429, "client too slow: outgoing queue full")                             \
    X(INTERNAL, 5001, 500, "internal error")                                               \
    X(CLASS_FULL, 5031, 503, "class has reached its subscriber limit")                     \
    X(RELAY_FULL, 5032, 503, "relay has reached its session or class limit")               \
    X(PARTICIPANTS_FULL, 5033, 503, "too many participants or connections")                \
    X(LINK_FULL, 5034, 503, "a link cannot carry the class's floor")

enum cr_api_err {
#define CR__API_ENUM(name, code, status, text) CR_API_##name = code,
    CR_API_ERR_MAP(CR__API_ENUM)
#undef CR__API_ENUM
};

/** HTTP status of an API error code (500 for an unknown code). */
int cr_api_err_status(int code);

/** Default message of an API error code. */
const char *cr_api_err_text(int code);

/** Number of codes in the table. */
#define CR_API_ERR_COUNT 42

/** Position of code in the table (0..CR_API_ERR_COUNT-1), or -1 for an unknown code. */
int cr_api_err_index(int code);

/** The code at position i of the table, or 0. */
int cr_api_err_code(int i);

#endif
