/*
 * The HTTP route table and the WHIP/WHEP/status handlers. Other features add their handlers in their
 * own files and one row here.
 */
#include <stdlib.h>
#include <string.h>

#include "cr_admin.h"
#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_http_int.h"
#include "cr_http_recordings.h"
#include "cr_http_ops.h"
#include "cr_http_static.h"

/* The caller's Authorization header (auth, cap bytes), query string and address, for cr_relay. */
static cr_relay_req_t request_of(struct lws *wsi, cr_http_request_t *rq, char *auth, size_t cap)
{
    cr_relay_req_t req = {.auth = NULL, .query = rq->query, .loopback = cr__http_peer_is_loopback(wsi)};
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, cap) > 0)
        req.auth = auth;
    return req;
}

static void handle_whip(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char auth[CR_AUTH_TOKEN_MAX + 16];
    cr_relay_req_t req = request_of(wsi, rq, auth, sizeof(auth));
    cr_relay_offer(h->relay, CR_PEER_PUBLISHER, rq->path + strlen("/whip/"), rq->body ? rq->body : "",
                   rq->body_len, &req, &rq->reply);
}

static void handle_whep(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char auth[CR_AUTH_TOKEN_MAX + 16];
    cr_relay_req_t req = request_of(wsi, rq, auth, sizeof(auth));
    cr_relay_offer(h->relay, CR_PEER_SUBSCRIBER, rq->path + strlen("/whep/"), rq->body ? rq->body : "",
                   rq->body_len, &req, &rq->reply);
}

static void handle_resource(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char auth[CR_AUTH_TOKEN_MAX + 16];
    cr_relay_req_t req = request_of(wsi, rq, auth, sizeof(auth));
    cr_relay_delete(h->relay, rq->path + strlen("/resource/"), &req, &rq->reply);
}

static void handle_status(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    (void)wsi;
    cr_relay_status(h->relay, &rq->reply);
    cr__http_status_workers(h, &rq->reply);
}

static void handle_index(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    static const char text[] = "classrelay: POST an SDP offer to /whip/<class-id> to publish, "
                               "/whep/<class-id> to watch; GET /api/status for status.\n";
    (void)h;
    (void)wsi;
    rq->reply.status = 200;
    rq->reply.body = strdup(text);
    rq->reply.body_len = rq->reply.body ? strlen(text) : 0;
    rq->reply.content_type = "text/plain";
}

const cr_http_route_t cr__http_routes[] = {
    {"/whip/", 0, CR_HTTP_POST, 1, handle_whip},
    {"/whep/", 0, CR_HTTP_POST, 1, handle_whep},
    {"/resource/", 0, CR_HTTP_DELETE, 0, handle_resource},
    {"/resource/", 0, CR_HTTP_POST, 0, cr__http_layer},
    {"/api/status", 1, CR_HTTP_GET, 0, handle_status},
    {"/metrics", 1, CR_HTTP_GET, 0, cr__http_metrics},
    {"/api/ops", 1, CR_HTTP_GET, 0, cr__http_ops},
    {"/api/reports", 0, CR_HTTP_GET, 0, cr__http_reports},
    {"/ops", 1, CR_HTTP_GET, 0, cr__http_ops_page},
    {"/api/recordings", 1, CR_HTTP_GET | CR_HTTP_POST, 0, cr__http_recordings},
    {"/api/recordings/", 0, CR_HTTP_GET | CR_HTTP_DELETE, 0, cr__http_recordings},
    {"/api/classes", 1, CR_HTTP_GET | CR_HTTP_POST, 0, cr__admin_classes},
    {"/api/classes/", 0, CR_HTTP_GET | CR_HTTP_POST | CR_HTTP_DELETE, 0, cr__admin_class},
    {"/class/", 0, CR_HTTP_GET, 0, cr__http_static},
    {"/teach/", 0, CR_HTTP_GET, 0, cr__http_static},
    {"/web/", 0, CR_HTTP_GET, 0, cr__http_static},
    {"/", 1, CR_HTTP_GET, 0, handle_index},
    {NULL, 0, 0, 0, NULL},
};

const cr_http_route_t *cr__http_route_find(const cr_http_request_t *rq, int *method_ok)
{
    const cr_http_route_t *path_match = NULL;
    for (const cr_http_route_t *r = cr__http_routes; r->prefix != NULL; r++) {
        int hit = r->exact ? strcmp(rq->path, r->prefix) == 0
                           : strncmp(rq->path, r->prefix, strlen(r->prefix)) == 0;
        if (!hit)
            continue;
        if (r->methods & rq->method) {
            *method_ok = 1;
            return r;
        }
        if (path_match == NULL)
            path_match = r;
    }
    *method_ok = 0;
    return path_match;
}
