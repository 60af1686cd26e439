/* WHIP (RFC 9725) and WHEP signalling over HTTP with libsoup 3: POST an SDP offer, get the
 * answer and a session resource, DELETE the resource at the end. Both protocols are the same
 * exchange; only the offer's direction differs, which is the caller's business. */
#ifndef CR_CLIENT_WHIP_H
#define CR_CLIENT_WHIP_H

/**
 * Called on the main context when a POST ends. On success answer_sdp is the relay's SDP and
 * error is NULL; otherwise answer_sdp is NULL and error is a one-line message such as
 * "relay refused (404 Not Found): class 'x' is not live". Both strings are borrowed for the
 * duration of the call.
 */
typedef void (*cr_whip_answer_cb)(void *ud, const char *answer_sdp, const char *error);

struct cr_whip;

/** New client; token (copied, may be NULL) is sent as a Bearer token on every request. */
struct cr_whip *cr_whip_new(const char *token);

/** Cancel anything pending and free. NULL is a no-op. Does not DELETE: see cr_whip_delete. */
void cr_whip_free(struct cr_whip *w);

/**
 * POST offer_sdp (copied) to url with Content-Type application/sdp. Expects 201 Created with
 * the answer and a Location header, which is resolved against the request URL and kept as the
 * session resource. Cancels an earlier POST still pending; cb is never called for a cancelled
 * one.
 */
void cr_whip_post_offer(struct cr_whip *w, const char *url, const char *offer_sdp,
                        cr_whip_answer_cb cb, void *ud);

/** Drop a pending POST without calling its callback. */
void cr_whip_cancel(struct cr_whip *w);

/** The session resource of the last successful POST, or NULL. Borrowed. */
const char *cr_whip_resource(const struct cr_whip *w);

/**
 * If there is a session resource, DELETE it (blocking, at most timeout_s seconds) and forget
 * it. Failures are reported on stderr only: the relay also expires sessions on its own.
 */
void cr_whip_delete(struct cr_whip *w, unsigned timeout_s);

#endif
