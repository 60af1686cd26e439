/*
 * The relay's HTTP interface on libwebsockets: WHIP (POST /whip/<class-id>), WHEP (POST
 * /whep/<class-id>), DELETE /resource/<id>, GET /api/status, CORS preflight. One lws context running
 * on the control thread; worker events are applied from a 50 ms timer.
 *
 * libwebsockets 4.1.6 traps avoided here: LWS_CALLBACK_HTTP_CONFIRM_UPGRADE is never handled
 * (CVE-2025-11677), request bodies are capped by us before buffering, JSON is jansson's.
 */
#ifndef CR_HTTP_H
#define CR_HTTP_H

#include "cr_relay.h"

#define CR_HTTP_MAX_BODY 32768 /* = CR_SDP_MAX_SIZE: the largest request body accepted */

typedef struct cr_http cr_http_t;

/** Creates the lws context listening on conf's http_listen. relay is borrowed. */
int cr_http_new(cr_http_t **out, const cr_conf_t *conf, cr_relay_t *relay, char *err, size_t err_cap);

/** Runs the event loop until cr_http_stop() is called (from a signal handler or another thread). */
void cr_http_run(cr_http_t *h);

/** Asks the loop to return. Async-signal-safe. */
void cr_http_stop(cr_http_t *h);

void cr_http_free(cr_http_t *h);

#endif
