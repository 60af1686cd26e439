/*
 * The admin REST API's route handlers (rows in cr_http_routes.c). docs/PROTOCOL.md section 5.
 */
#ifndef CR_ADMIN_H
#define CR_ADMIN_H

#include "cr_http_int.h"

/** GET /api/classes (list), POST /api/classes (create). */
void cr__admin_classes(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);

/** GET /api/classes/<id>, POST .../end, GET .../participants, DELETE .../participants/<pid>. */
void cr__admin_class(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);

/** 1 if the request's peer address is loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
int cr__http_peer_is_loopback(struct lws *wsi);

#endif
