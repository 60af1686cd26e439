#include "cr_http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_clock.h"
#include "cr_http_recordings.h"
#include "cr_workers.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_ws.h"

#define CR_POLL_US (50 * LWS_US_PER_MS)

static void poll_cb(lws_sorted_usec_list_t *sul)
{
    cr_http_t *h = lws_container_of(sul, cr_http_t, poll_sul);
    cr_relay_poll(h->relay);
    cr_workers_poll(h->workers, cr_now_us() / 1000);
    lws_sul_schedule(h->ctx, 0, &h->poll_sul, poll_cb, CR_POLL_US);
}

static enum cr_http_method method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return CR_HTTP_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return CR_HTTP_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return CR_HTTP_DELETE;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI))
        return CR_HTTP_OPTIONS;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
        return CR_HTTP_PATCH;
    return CR_HTTP_OTHER;
}

int cr__http_header(struct lws *wsi, enum lws_token_indexes token, char *buf, size_t cap)
{
    if (lws_hdr_total_length(wsi, token) <= 0 || cap == 0)
        return -1;
    return lws_hdr_copy(wsi, buf, (int)cap, token);
}

static void request_reset(cr_http_request_t *rq)
{
    cr__http_file_close(rq);
    free(rq->body);
    cr_relay_reply_dispose(&rq->reply);
    memset(rq, 0, sizeof(*rq));
}

/* Error bodies are JSON: {"error":{"code":4042,"message":"..."}}. */
static void error_body(cr_relay_reply_t *rep)
{
    char buf[640], msg[520];
    size_t j = 0;
    for (size_t i = 0; rep->message[i] && j < sizeof(msg) - 2; i++) {
        char c = rep->message[i];
        if (c == '"' || c == '\\')
            msg[j++] = '\\';
        msg[j++] = (c >= 0x20) ? c : ' ';
    }
    msg[j] = '\0';
    int n = snprintf(buf, sizeof(buf), "{\"error\":{\"code\":%d,\"message\":\"%s\"}}\n", rep->code, msg);
    free(rep->body);
    rep->body = strndup(buf, (size_t)n);
    rep->body_len = rep->body ? (size_t)n : 0;
    rep->content_type = "application/json";
}

static void route(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    int method_ok;
    const cr_http_route_t *r = cr__http_route_find(rq, &method_ok);
    cr_relay_reply_t *rep = &rq->reply;

    if (rq->method == CR_HTTP_OPTIONS && r != NULL) {
        rep->status = 204; /* CORS preflight; the allow headers go on every reply */
    } else if (r == NULL) {
        cr_relay_reply_error(rep, CR_API_NO_ROUTE, rq->path);
    } else if (!method_ok) {
        cr_relay_reply_error(rep, CR_API_METHOD, NULL);
    } else if (r->needs_sdp_body && rq->too_big) {
        cr_relay_reply_error(rep, CR_API_TOO_BIG, "SDP offer over 32768 bytes");
    } else if (r->needs_sdp_body && rq->bad_type) {
        cr_relay_reply_error(rep, CR_API_CONTENT_TYPE, NULL);
    } else {
        r->handler(h, wsi, rq);
    }
    if (rep->code != 0)
        error_body(rep);
    rq->replied = 1;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

static int write_reply(struct lws *wsi, cr_http_request_t *rq)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    cr_relay_reply_t *rep = &rq->reply;

    if (lws_add_http_common_headers(wsi, (unsigned int)rep->status,
                                    rep->content_type ? rep->content_type : "text/plain",
                                    (lws_filepos_t)rep->body_len, &p, end) ||
        add_header(wsi, "access-control-allow-origin:", "*", &p, end) ||
        add_header(wsi, "access-control-allow-methods:", "GET, POST, DELETE, PATCH, OPTIONS", &p, end) ||
        add_header(wsi, "access-control-allow-headers:", "content-type, authorization", &p, end) ||
        add_header(wsi, "access-control-expose-headers:", "location", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (rep->location[0] && add_header(wsi, "location:", rep->location, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (rep->body_len > 0) {
        /* lws_write needs LWS_PRE bytes of headroom before the payload. */
        unsigned char *out = malloc(LWS_PRE + rep->body_len);
        if (out == NULL)
            return -1;
        memcpy(out + LWS_PRE, rep->body, rep->body_len);
        int n = lws_write(wsi, out + LWS_PRE, rep->body_len, LWS_WRITE_HTTP_FINAL);
        free(out);
        if (n < 0)
            return -1;
    }
    /* Reset first: lws may free the per-request user data when it completes the transaction. */
    request_reset(rq);
    int done = lws_http_transaction_completed(wsi);
    return done ? -1 : 0;
}

static void split_uri(cr_http_request_t *rq, struct lws *wsi, const char *uri)
{
    snprintf(rq->path, sizeof(rq->path), "%s", uri ? uri : "/");
    /* lws keeps the query string apart from the URI path; fetch it whole. */
    int n = lws_hdr_copy(wsi, rq->query, sizeof(rq->query), WSI_TOKEN_HTTP_URI_ARGS);
    if (n < 0)
        rq->query[0] = '\0';
}

static int on_http(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq, const char *uri)
{
    char ctype[64];
    request_reset(rq);
    split_uri(rq, wsi, uri);
    rq->method = method_of(wsi);
    if (rq->method != CR_HTTP_POST && rq->method != CR_HTTP_PATCH) {
        route(h, wsi, rq);
        lws_callback_on_writable(wsi);
        return 0;
    }
    char lenbuf[24];
    /* No Content-Length and no Transfer-Encoding is an empty body (RFC 9112 section 6.3); lws then
     * calls no body callbacks, so the request is answered here. */
    int empty = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0;
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, lenbuf, sizeof(lenbuf)) > 0) {
        unsigned long n = strtoul(lenbuf, NULL, 10);
        rq->too_big = n > CR_HTTP_MAX_BODY;
        empty = n == 0;
    }
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ctype, sizeof(ctype)) <= 0 ||
        strncmp(ctype, "application/sdp", 15) != 0)
        rq->bad_type = 1;
    int method_ok;
    const cr_http_route_t *r = cr__http_route_find(rq, &method_ok);
    if (r == NULL || !method_ok || empty || (r->needs_sdp_body && (rq->too_big || rq->bad_type))) {
        /* Answer at once without reading the body. */
        route(h, wsi, rq);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int on_body(cr_http_request_t *rq, const void *in, size_t len)
{
    if (rq->replied || rq->too_big)
        return 0;
    if (rq->body_len + len > CR_HTTP_MAX_BODY) {
        rq->too_big = 1;
        return 0;
    }
    char *nb = realloc(rq->body, rq->body_len + len + 1);
    if (nb == NULL)
        return -1;
    rq->body = nb;
    memcpy(rq->body + rq->body_len, in, len);
    rq->body_len += len;
    rq->body[rq->body_len] = '\0';
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    cr_http_request_t *rq = user;
    cr_http_t *h = lws_context_user(lws_get_context(wsi));

    /* A WebSocket upgrade without a subprotocol is bound to this (the default) protocol. */
    if (cr__ws_reason(reason))
        return cr__ws_callback(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(h, wsi, rq, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(rq, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!rq->replied)
            route(h, wsi, rq);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!rq->replied)
            return 0;
        if (rq->file != NULL) { /* a download, one chunk per callback */
            int n = cr__http_file_write(wsi, rq);
            if (n <= 0)
                return n;
            request_reset(rq); /* before: lws may free rq with the transaction */
            int done = lws_http_transaction_completed(wsi);
            return done ? -1 : 0;
        }
        return write_reply(wsi, rq);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (rq != NULL)
            request_reset(rq);
        return 0;
    default:
        break;
    }
    /* Never LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: see the CVE note in cr_http.h. */
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(cr_http_request_t), 0, 0, NULL, 0},
    {CR_WS_PROTOCOL, cr__ws_callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log(int level, const char *line)
{
    cr_log(level == LLL_ERR ? CR_LOG_ERROR : CR_LOG_WARN, "http", "%.*s", (int)strcspn(line, "\n"), line);
}

int cr_http_new(cr_http_t **out, const cr_conf_t *conf, cr_relay_t *relay, char *err, size_t err_cap)
{
    struct lws_context_creation_info info;
    cr_http_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CR_ENOMEM;
    h->relay = relay;
    h->conf = conf;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    memset(&info, 0, sizeof(info));
    info.port = conf->http_port;
    info.iface = conf->http_host;
    info.protocols = protocols;
    info.user = h;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "classrelay";
    info.max_http_header_data = 8192; /* room for a token of CR_AUTH_TOKEN_MAX bytes */
    info.timeout_secs = 10;
    h->ctx = lws_create_context(&info);
    if (h->ctx == NULL) {
        snprintf(err, err_cap, "cannot listen for HTTP on %s:%u (address in use or not local?)",
                 conf->http_host, (unsigned)conf->http_port);
        free(h);
        return CR_EIO;
    }
    int rc = cr_workers_new(&h->workers, relay, conf, err, err_cap);
    if (rc != 0) {
        lws_context_destroy(h->ctx);
        free(h);
        return rc;
    }
    lws_sul_schedule(h->ctx, 0, &h->poll_sul, poll_cb, CR_POLL_US);
    *out = h;
    return 0;
}

void cr_http_run(cr_http_t *h)
{
    while (!h->stop && lws_service(h->ctx, 0) >= 0)
        ;
}

void cr_http_stop(cr_http_t *h)
{
    h->stop = 1;
    lws_cancel_service(h->ctx);
}

void cr_http_free(cr_http_t *h)
{
    if (h == NULL)
        return;
    cr_workers_free(h->workers); /* stops the workers; recorders finalize their files */
    lws_context_destroy(h->ctx);
    free(h);
}
