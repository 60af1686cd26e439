/*
 * The relay's control plane, independent of HTTP: it owns the DTLS certificate, the media workers,
 * the token key, and the registry of classes, participants and sessions (WHIP/WHEP resources). The
 * HTTP layer (cr_http.c), the WebSocket signaling (cr_ws.c) and the admin API (cr_admin.c) turn
 * requests into calls here; everything runs on the control thread only. Every request is
 * authorized by a token (docs/PROTOCOL.md) and the class rules (relay/classes).
 */
#ifndef CR_RELAY_H
#define CR_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "cr_class.h" /* cr_class_id_valid */
#include "cr_conf.h"
#include "cr_peer.h"

typedef struct cr_relay cr_relay_t;

/**
 * Creates the certificate and DTLS context, binds and starts conf->workers media workers. conf is
 * copied. On failure returns a negative code and writes a reason to err.
 */
int cr_relay_new(cr_relay_t **out, const cr_conf_t *conf, char *err, size_t err_cap);

/** Stops the workers and frees everything. NULL is a no-op. */
void cr_relay_free(cr_relay_t *r);

/** Sets the token key (copied, CR_AUTH_SECRET_MIN..MAX bytes). Until set, every token is refused. */
int cr_relay_set_key(cr_relay_t *r, const uint8_t *key, size_t len);

/** Who asks: the request's Authorization header and query string (borrowed, NULL if absent). */
typedef struct cr_relay_req {
    const char *auth;  /* "Bearer <token>" */
    const char *query; /* without '?', e.g. "view=stage" */
    int loopback;      /* the peer's address is loopback (127.0.0.0/8, ::1) */
} cr_relay_req_t;

/** The result of a request, mapped to HTTP by the caller. */
typedef struct cr_relay_reply {
    int status;        /* HTTP status */
    int code;          /* numbered API error (cr_api_err.h), 0 on success */
    char message[256]; /* error message with details */
    char *body;        /* success body (SDP answer or JSON), malloc'ed, owned by the reply */
    size_t body_len;
    const char *content_type;
    char location[96]; /* WHIP/WHEP session resource, "" if none */
} cr_relay_reply_t;

/** Frees the body of a reply. */
void cr_relay_reply_dispose(cr_relay_reply_t *rep);

/**
 * Handles a WHIP (publisher) or WHEP (subscriber) offer for class_id: authorizes req's token against
 * the class and its rules, validates, negotiates, creates the peer on the class's worker and fills a
 * 201 reply with the SDP answer and Location, or a numbered error. For WHEP, req->query may choose
 * view=main|stage or source=<participant-id>. sdp is borrowed and need not be NUL-terminated.
 */
void cr_relay_offer(cr_relay_t *r, enum cr_peer_role role, const char *class_id, const char *sdp,
                    size_t len, const cr_relay_req_t *req, cr_relay_reply_t *out);

/**
 * Ends the session resource_id (WHIP/WHEP DELETE) for its owner or an admin: 200, or 4041 (unknown),
 * 4039 (another participant's), or a token error.
 */
void cr_relay_delete(cr_relay_t *r, const char *resource_id, const cr_relay_req_t *req, cr_relay_reply_t *out);

/** Fills a 200 reply with a JSON document of classes, sessions and worker counters. */
void cr_relay_status(cr_relay_t *r, cr_relay_reply_t *out);

/** Fills out with error code (and an optional detail appended to its message). */
void cr_relay_reply_error(cr_relay_reply_t *out, int code, const char *detail);

/** Applies the workers' events (sessions connected or closed). Call often from the control loop. */
void cr_relay_poll(cr_relay_t *r);


/**
 * Chooses the simulcast layer subscriber session resource_id receives: rid ("h", "m", "l") or NULL
 * or "" for the best layer the publisher sends, for the session's owner or an admin (req's token,
 * as for DELETE). Fills a 200 JSON reply, or a counted refusal: 4005 (bad rid), a token error,
 * 4041 (unknown or publisher session), 4039 (another participant's). The switch itself happens in
 * the media worker at the layer's next keyframe.
 */
void cr_relay_set_layer(cr_relay_t *r, const char *resource_id, const char *rid, const cr_relay_req_t *req,
                        cr_relay_reply_t *out);

/**
 * Parses a layer request body: "h", "m", "l" (any RFC 8851 rid), "auto" for the best, or JSON
 * {"rid":"l"} / {"rid":null}; surrounding white space is ignored. Writes the rid ("" for the best)
 * to rid (cap bytes). Returns 0 or CR_EINVAL. body is borrowed and need not be NUL-terminated.
 */
int cr_relay_layer_parse(const char *body, size_t len, char *rid, size_t cap);

#endif
