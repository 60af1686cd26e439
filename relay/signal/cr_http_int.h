/*
 * Internals of the HTTP layer shared by cr_http.c (libwebsockets callbacks), cr_http_routes.c (the
 * route table) and the handlers in other cr_http_*.c / cr_*.c files of this module.
 */
#ifndef CR_HTTP_INT_H
#define CR_HTTP_INT_H

#include <libwebsockets.h>
#include <signal.h>

#include "cr_http.h"

struct cr_workers;

struct cr_http {
    struct lws_context *ctx;
    cr_relay_t *relay;
    const cr_conf_t *conf;
    struct cr_workers *workers; /* supervised ingest and recorder processes (cr_workers.h) */
    lws_sorted_usec_list_t poll_sul;
    volatile sig_atomic_t stop;
};

enum cr_http_method {
    CR_HTTP_OTHER = 0,
    CR_HTTP_GET = 1 << 0,
    CR_HTTP_POST = 1 << 1,
    CR_HTTP_DELETE = 1 << 2,
    CR_HTTP_OPTIONS = 1 << 3,
    CR_HTTP_PATCH = 1 << 4,
};

/* Per-request state, zeroed by lws for each connection and reset for each keep-alive request. */
typedef struct cr_http_request {
    enum cr_http_method method;
    char path[256];  /* URL path, without the query string */
    char query[256]; /* query string without '?', "" if none */
    char *body;
    size_t body_len;
    int too_big;
    int bad_type;
    cr_relay_reply_t reply;
    struct cr__http_file *file; /* a reply body streamed from a file (cr_http_recordings.c), or NULL */
    int replied; /* reply is ready to be written */
} cr_http_request_t;

/**
 * A route: requests whose path starts with prefix (exact match when exact is set) and whose method is
 * in methods go to handler, which fills rq->reply (status, body, or an API error via
 * cr_relay_reply_error). wsi is valid for reading request headers during the call.
 */
typedef struct cr_http_route {
    const char *prefix;
    int exact;
    unsigned methods;
    int needs_sdp_body; /* POST body must be application/sdp and at most CR_HTTP_MAX_BODY */
    void (*handler)(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);
} cr_http_route_t;

/** The route table (cr_http_routes.c), terminated by a row with prefix NULL. */
extern const cr_http_route_t cr__http_routes[];

/** Finds the route for rq's path and method; NULL if none matches the path. *method_ok says whether the method fit. */
const cr_http_route_t *cr__http_route_find(const cr_http_request_t *rq, int *method_ok);

/** Copies request header `token` (e.g. WSI_TOKEN_HTTP_AUTHORIZATION) into buf; returns its length or -1. */
int cr__http_header(struct lws *wsi, enum lws_token_indexes token, char *buf, size_t cap);

#endif
