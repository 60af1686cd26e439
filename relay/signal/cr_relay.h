/*
 * The relay's control plane, independent of HTTP: it owns the DTLS certificate, the media workers,
 * and the registry of classes and sessions (WHIP/WHEP resources). The HTTP layer (cr_http.c) turns
 * requests into calls here; everything runs on the control thread only.
 */
#ifndef CR_RELAY_H
#define CR_RELAY_H

#include <stddef.h>

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
 * Handles a WHIP (publisher) or WHEP (subscriber) offer for class_id: validates, negotiates, creates
 * the peer on the class's worker and fills a 201 reply with the SDP answer and Location, or an error.
 * sdp is borrowed and need not be NUL-terminated.
 */
void cr_relay_offer(cr_relay_t *r, enum cr_peer_role role, const char *class_id, const char *sdp,
                    size_t len, cr_relay_reply_t *out);

/** Ends the session resource_id (WHIP/WHEP DELETE): 200, or 404 with CR_API_NOT_FOUND. */
void cr_relay_delete(cr_relay_t *r, const char *resource_id, cr_relay_reply_t *out);

/** Fills a 200 reply with a JSON document of classes, sessions and worker counters. */
void cr_relay_status(cr_relay_t *r, cr_relay_reply_t *out);

/** Fills out with error code (and an optional detail appended to its message). */
void cr_relay_reply_error(cr_relay_reply_t *out, int code, const char *detail);

/** Applies the workers' events (sessions connected or closed). Call often from the control loop. */
void cr_relay_poll(cr_relay_t *r);

/** Returns 1 if id is a valid class id: 1..64 characters of [A-Za-z0-9_-]. */
int cr_class_id_valid(const char *id, size_t len);

/**
 * Chooses the simulcast layer subscriber session resource_id receives: rid ("h", "m", "l") or NULL
 * or "" for the best layer the publisher sends. Fills a 200 JSON reply, or 4041 for an unknown or
 * publisher session. The switch itself happens in the media worker at the layer's next keyframe.
 */
void cr_relay_set_layer(cr_relay_t *r, const char *resource_id, const char *rid, cr_relay_reply_t *out);

/**
 * Parses a layer request body: "h", "m", "l" (any RFC 8851 rid), "auto" for the best, or JSON
 * {"rid":"l"} / {"rid":null}; surrounding white space is ignored. Writes the rid ("" for the best)
 * to rid (cap bytes). Returns 0 or CR_EINVAL. body is borrowed and need not be NUL-terminated.
 */
int cr_relay_layer_parse(const char *body, size_t len, char *rid, size_t cap);
#endif
