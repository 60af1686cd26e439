/*
 * WebSocket signaling: connection state, limits, reassembly, the outgoing queue and the message
 * dispatch table. The class logic behind each message is in cr_relay_ctl.c.
 */
#include "cr_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_clock.h"
#include "cr_http_int.h"
#include "cr_json_guard.h"
#include "cr_log.h"
#include "cr_relay_int.h"
#include "cr_ws_ops.h"

#define CR_WS_TICK_US 1000000 /* limits are checked once a second */
#define CR_WS_DRAIN_TICK_US 50000
#define CR_WS_DRAIN_QUIET_US 100000 /* a refused peer that sent nothing for this long is closed */
#define CR_WS_DRAIN_MAX_US 2000000

typedef struct ws_out {
    cr_list_t link;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
} ws_out_t;

typedef struct ws_conn {
    cr__listener_t l; /* first: the relay sees this */
    struct lws *wsi;
    cr_http_t *h;
    lws_sorted_usec_list_t sul;
    cr_list_t out;
    unsigned n_out;
    size_t out_bytes;
    char *rx; /* reassembly, CR_WS_MAX_MSG bytes */
    size_t rx_len;
    int rx_binary;
    uint64_t opened_us, last_rx_us, bucket_us;
    unsigned bucket_milli; /* rate-limit tokens * 1000 */
    unsigned proto_errors;
    int closing;    /* close after the queue drains, with close_code */
    int draining;   /* refused: drop what the peer still sends, close (close_code) once it is quiet */
    uint64_t drain_start_us;
    int close_code;
    char close_reason[64];
} ws_conn_t;

static unsigned n_conns;

unsigned cr__ws_connections(void)
{
    return n_conns;
}

int cr__ws_reason(enum lws_callback_reasons reason)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_CLOSED:
        return 1;
    default:
        return 0;
    }
}

/* --- sending and closing --- */

static void conn_close(ws_conn_t *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
    lws_callback_on_writable(c->wsi);
    /* A peer that does not read gets no close handshake: it is dropped after 3 s. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 3);
}

static void conn_queue(ws_conn_t *c, const char *text, size_t len)
{
    if (c->closing)
        return;
    if (c->n_out >= CR_WS_QUEUE_MSGS || c->out_bytes + len > CR_WS_QUEUE_BYTES) {
        cr__relay_count(c->h->relay, CR_API_SLOW, "signaling client does not read");
        c->closing = 1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    ws_out_t *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (m == NULL)
        return;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    cr_list_insert(&c->out, &m->link);
    c->n_out++;
    c->out_bytes += len;
    lws_callback_on_writable(c->wsi);
}

static void tick(lws_sorted_usec_list_t *sul);

/*
 * Closes a connection whose peer may still be sending (a flood, an oversized message, a run of bad
 * messages, a failed join). Closing the socket with unread input would make the kernel reset the
 * connection, and the peer would lose our error and close frames; so its input is read and dropped
 * until it has been quiet for 100 ms (at most 2 s), and only then is the close sent.
 */
static void conn_drain_close(ws_conn_t *c, int code, const char *reason)
{
    if (c->closing || c->draining)
        return;
    c->draining = 1;
    c->drain_start_us = c->last_rx_us = cr_now_us();
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
    lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, tick, CR_WS_DRAIN_TICK_US);
}

static void listener_send(cr__listener_t *l, const char *text, size_t len)
{
    conn_queue((ws_conn_t *)l, text, len);
}

static void listener_close(cr__listener_t *l, int code, const char *reason)
{
    conn_close((ws_conn_t *)l, code, reason);
}

static void send_json(ws_conn_t *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text != NULL)
        conn_queue(c, text, strlen(text));
    free(text);
}

/* Sends {"type":"error","id":..,"code":..,"message":..} and counts the refusal. */
static void send_error(ws_conn_t *c, json_t *id, int code, const char *detail)
{
    char msg[320];
    if (detail != NULL && detail[0] != '\0')
        snprintf(msg, sizeof(msg), "%s: %s", cr_api_err_text(code), detail);
    else
        snprintf(msg, sizeof(msg), "%s", cr_api_err_text(code));
    json_t *e = json_pack("{s:s,s:i,s:s}", "type", "error", "code", code, "message", msg);
    if (id != NULL)
        json_object_set(e, "id", id);
    send_json(c, e);
    json_decref(e);
    cr__relay_count(c->h->relay, code, detail);
}

static int on_writeable(ws_conn_t *c)
{
    if (!cr_list_empty(&c->out)) {
        ws_out_t *m = cr_container_of(c->out.next, ws_out_t, link);
        cr_list_unlink(&m->link);
        c->n_out--;
        c->out_bytes -= m->len;
        int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
        if (!cr_list_empty(&c->out) || c->closing)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (!c->closing)
        return 0;
    lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
                     strlen(c->close_reason));
    return -1;
}

/* --- limits --- */

static int rate_ok(ws_conn_t *c, uint64_t now)
{
    uint64_t refill = (now - c->bucket_us) * CR_WS_RATE / 1000; /* milli-tokens */
    c->bucket_us = now;
    uint64_t t = c->bucket_milli + refill;
    c->bucket_milli = (unsigned)(t > CR_WS_BURST * 1000u ? CR_WS_BURST * 1000u : t);
    if (c->bucket_milli < 1000)
        return 0;
    c->bucket_milli -= 1000;
    return 1;
}

/* A malformed or invalid message: answered, and after CR_WS_MAX_PROTO_ERRORS the connection goes. */
static void proto_error(ws_conn_t *c, json_t *id, int code, const char *detail)
{
    send_error(c, id, code, detail);
    if (++c->proto_errors >= CR_WS_MAX_PROTO_ERRORS)
        conn_drain_close(c, code, "too many invalid messages");
}

static void tick(lws_sorted_usec_list_t *sul)
{
    ws_conn_t *c = lws_container_of(sul, ws_conn_t, sul);
    uint64_t now = cr_now_us();
    if (c->draining) {
        if (now - c->last_rx_us < CR_WS_DRAIN_QUIET_US && now - c->drain_start_us < CR_WS_DRAIN_MAX_US) {
            lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, tick, CR_WS_DRAIN_TICK_US);
            return;
        }
        char reason[sizeof(c->close_reason)];
        memcpy(reason, c->close_reason, sizeof(reason));
        c->draining = 0;
        conn_close(c, c->close_code, reason);
    } else if (!c->closing && c->l.p == NULL && !cr__ws_ops_active(&c->l) && now - c->opened_us >= CR_WS_JOIN_TIMEOUT_S * 1000000ull) {
        cr__relay_count(c->h->relay, CR_API_TIMEOUT, "no join");
        conn_close(c, CR_API_TIMEOUT, "join timeout");
    } else if (!c->closing && now - (c->last_rx_us ? c->last_rx_us : c->opened_us) >=
                                     (uint64_t)c->h->conf->ws_idle_timeout_s * 1000000ull) {
        cr__relay_count(c->h->relay, CR_API_TIMEOUT, "idle signaling connection");
        conn_close(c, CR_API_TIMEOUT, "idle");
    }
    lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, tick, CR_WS_TICK_US);
}

/* --- messages --- */

typedef struct ws_req {
    ws_conn_t *c;
    json_t *msg; /* the request, borrowed */
    json_t *id;  /* its "id", borrowed, or NULL */
    json_t *reply; /* set by a handler that answers with more than "ok" (owned) */
    int close_after; /* close the connection normally once the reply is queued */
    char detail[192];
} ws_req_t;

static const char *str_field(json_t *msg, const char *key)
{
    return json_string_value(json_object_get(msg, key));
}

/* A participant id field: a string id, or (when nullable) null -> *out NULL. Returns 0 or -1. */
static int id_field(ws_req_t *q, const char *key, int nullable, const char **out)
{
    json_t *v = json_object_get(q->msg, key);
    *out = NULL;
    if (nullable && json_is_null(v))
        return 0;
    if (json_is_string(v) && cr_class_id_valid(json_string_value(v), json_string_length(v))) {
        *out = json_string_value(v);
        return 0;
    }
    snprintf(q->detail, sizeof(q->detail), "'%s' must be a participant id%s", key, nullable ? " or null" : "");
    return -1;
}

static int h_join(ws_req_t *q)
{
    const char *cls = str_field(q->msg, "class"), *tok = str_field(q->msg, "token");
    json_t *kind = json_object_get(q->msg, "kind"), *title = json_object_get(q->msg, "title");
    if (q->c->l.p != NULL) {
        snprintf(q->detail, sizeof(q->detail), "already joined");
        return CR_API_BAD_REQUEST;
    }
    if (cls == NULL || (kind != NULL && !json_is_string(kind)) || (title != NULL && !json_is_string(title)) ||
        (title != NULL && json_string_length(title) > CR_CLASS_TITLE_MAX)) {
        snprintf(q->detail, sizeof(q->detail), "join needs \"class\" and \"token\" (strings)");
        return CR_API_BAD_REQUEST;
    }
    if (tok == NULL || tok[0] == '\0')
        return CR_API_NO_TOKEN;
    return cr__ctl_join(q->c->h->relay, &q->c->l, cls, tok, strlen(tok), json_string_value(kind),
                        json_string_value(title), &q->reply, q->detail, sizeof(q->detail));
}

static int h_leave(ws_req_t *q)
{
    cr__listener_detach(q->c->h->relay, &q->c->l);
    q->close_after = 1; /* after the "ok" */
    return 0;
}

static int h_ping(ws_req_t *q)
{
    q->reply = json_pack("{s:s}", "type", "pong");
    return 0;
}

static int h_participants(ws_req_t *q)
{
    q->reply = json_pack("{s:s,s:o}", "type", "participants", "participants", cr__ctl_participants(q->c->l.p));
    return 0;
}

static int h_start(ws_req_t *q)
{
    return cr__ctl_state(q->c->h->relay, q->c->l.p, 1, q->detail, sizeof(q->detail));
}

static int h_end(ws_req_t *q)
{
    return cr__ctl_state(q->c->h->relay, q->c->l.p, 0, q->detail, sizeof(q->detail));
}

static int h_stage(ws_req_t *q)
{
    const char *t;
    if (json_object_get(q->msg, "participant") == NULL || id_field(q, "participant", 1, &t) != 0) {
        snprintf(q->detail, sizeof(q->detail), "stage needs \"participant\": an id or null");
        return CR_API_BAD_REQUEST;
    }
    return cr__ctl_stage(q->c->h->relay, q->c->l.p, t, q->detail, sizeof(q->detail));
}

/* "audio"/"video": true, false, or absent (-1: keep). Returns -2 for anything else. */
static int tristate(json_t *msg, const char *key)
{
    json_t *v = json_object_get(msg, key);
    if (v == NULL)
        return -1;
    return json_is_boolean(v) ? json_is_true(v) : -2;
}

static int h_mute(ws_req_t *q)
{
    const char *t;
    int a = tristate(q->msg, "audio"), v = tristate(q->msg, "video");
    if (id_field(q, "participant", 0, &t) != 0)
        return CR_API_BAD_REQUEST;
    if (a == -2 || v == -2 || (a == -1 && v == -1)) {
        snprintf(q->detail, sizeof(q->detail), "mute needs \"audio\" and/or \"video\" (booleans)");
        return CR_API_BAD_REQUEST;
    }
    return cr__ctl_mute(q->c->h->relay, q->c->l.p, t, a, v, q->detail, sizeof(q->detail));
}

static int h_raise(ws_req_t *q)
{
    return cr__ctl_hand(q->c->h->relay, q->c->l.p, 1, q->detail, sizeof(q->detail));
}

static int h_lower(ws_req_t *q)
{
    return cr__ctl_hand(q->c->h->relay, q->c->l.p, 0, q->detail, sizeof(q->detail));
}

static int h_accept(ws_req_t *q)
{
    const char *t;
    if (id_field(q, "participant", 0, &t) != 0)
        return CR_API_BAD_REQUEST;
    return cr__ctl_accept(q->c->h->relay, q->c->l.p, t, q->detail, sizeof(q->detail));
}

static int h_layer(ws_req_t *q)
{
    const char *res = str_field(q->msg, "resource");
    json_t *rid = json_object_get(q->msg, "rid");
    if (res == NULL || (rid != NULL && !json_is_null(rid) && !json_is_string(rid))) {
        snprintf(q->detail, sizeof(q->detail), "layer needs \"resource\" and \"rid\" (a string or null)");
        return CR_API_BAD_REQUEST;
    }
    const char *r = json_is_string(rid) ? json_string_value(rid) : "";
    return cr__ctl_layer(q->c->h->relay, q->c->l.p, res, r, q->detail, sizeof(q->detail));
}

/* The operator dashboard's feed (cr_ws_ops.c). */
static int h_ops(ws_req_t *q)
{
    return cr__ws_ops(q->c->h->relay, &q->c->l, q->msg, &q->reply, q->detail, sizeof(q->detail));
}

static const struct {
    const char *type;
    int needs_join;
    int (*fn)(ws_req_t *q);
} handlers[] = {
    {"join", 0, h_join},         {"leave", 1, h_leave},         {"ping", 0, h_ping},
    {"participants", 1, h_participants}, {"start", 1, h_start}, {"end", 1, h_end},
    {"stage", 1, h_stage},       {"mute", 1, h_mute},           {"raise_hand", 1, h_raise},
    {"lower_hand", 1, h_lower},  {"accept_hand", 1, h_accept},  {"layer", 1, h_layer},
    {"ops", 0, h_ops},           {"ops_history", 0, h_ops},
};

/* The API code for a JSON parse failure. */
static int json_fail_code(enum cr_json_fail f, char *detail, size_t cap)
{
    static const char *const why[] = {"", "too large", "nested deeper than 4", "not JSON", "a key over 32 bytes",
                                      "a string too long", "not a JSON object"};
    snprintf(detail, cap, "%s", why[f]);
    return f == CR_JSON_SYNTAX || f == CR_JSON_NOT_OBJECT ? CR_API_BAD_JSON : CR_API_JSON_LIMIT;
}

static void dispatch(ws_conn_t *c, const char *text, size_t len)
{
    static const cr_json_limits_t lim = {.max_size = CR_WS_MAX_MSG, .max_depth = CR_WS_MAX_DEPTH,
                                         .max_key = CR_WS_MAX_KEY, .max_string = CR_WS_MAX_TOKEN};
    static const cr_json_limits_t small = {.max_size = CR_WS_MAX_MSG, .max_depth = CR_WS_MAX_DEPTH,
                                           .max_key = CR_WS_MAX_KEY, .max_string = CR_WS_MAX_STRING};
    ws_req_t q = {.c = c};
    enum cr_json_fail f = cr_json_load_object(text, len, &lim, &q.msg);
    if (f != CR_JSON_OK) {
        int code = json_fail_code(f, q.detail, sizeof(q.detail));
        proto_error(c, NULL, code, q.detail);
        return;
    }
    q.id = json_object_get(q.msg, "id");
    if (q.id != NULL && !json_is_integer(q.id) && !(json_is_string(q.id) && json_string_length(q.id) <= 64))
        q.id = NULL;
    const char *type = str_field(q.msg, "type");
    unsigned i = 0, n = sizeof(handlers) / sizeof(handlers[0]);
    while (type != NULL && i < n && strcmp(handlers[i].type, type) != 0)
        i++;
    int code;
    if (type == NULL || i == n) {
        snprintf(q.detail, sizeof(q.detail), "unknown or missing \"type\"");
        code = CR_API_BAD_REQUEST;
    } else if (strcmp(type, "join") != 0 && strcmp(type, "ops") != 0 && (f = cr_json_check(q.msg, &small)) != CR_JSON_OK) {
        code = json_fail_code(f, q.detail, sizeof(q.detail));
    } else if (handlers[i].needs_join && c->l.p == NULL) {
        code = CR_API_NOT_JOINED;
    } else {
        code = handlers[i].fn(&q);
    }
    if (code == 0) {
        json_t *reply = q.reply != NULL ? q.reply : json_pack("{s:s}", "type", "ok");
        if (q.id != NULL)
            json_object_set(reply, "id", q.id);
        send_json(c, reply);
        json_decref(reply);
        if (q.close_after)
            conn_close(c, LWS_CLOSE_STATUS_NORMAL, "left");
    } else if (type != NULL && strcmp(type, "join") == 0 && code != CR_API_BAD_REQUEST && code != CR_API_JSON_LIMIT) {
        send_error(c, q.id, code, q.detail); /* a failed join ends the connection */
        conn_drain_close(c, code >= 4000 && code < 5000 ? code : 1013, cr_api_err_text(code));
    } else if (code == CR_API_BAD_REQUEST || code == CR_API_JSON_LIMIT || code == CR_API_NOT_JOINED) {
        proto_error(c, q.id, code, q.detail);
    } else {
        send_error(c, q.id, code, q.detail);
    }
    json_decref(q.msg);
}

/* --- receiving --- */

static int on_receive(ws_conn_t *c, const void *in, size_t len)
{
    if (c->draining)
        c->last_rx_us = cr_now_us();
    if (c->closing || c->draining)
        return 0;
    if (lws_is_first_fragment(c->wsi)) {
        c->rx_len = 0;
        c->rx_binary = lws_frame_is_binary(c->wsi);
    }
    /* lws 4.1 has no cap on message reassembly: ours is CR_WS_MAX_MSG, checked before copying. */
    if (c->rx_len + len > CR_WS_MAX_MSG) {
        send_error(c, NULL, CR_API_MSG_TOO_BIG, "over 8192 bytes");
        conn_drain_close(c, CR_API_MSG_TOO_BIG, "message too large");
        return 0;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(c->wsi))
        return 0;
    uint64_t now = cr_now_us();
    c->last_rx_us = now;
    if (!rate_ok(c, now)) {
        send_error(c, NULL, CR_API_RATE, "over 20 messages/s (bursts of 40)");
        conn_drain_close(c, CR_API_RATE, "too many messages");
        return 0;
    }
    if (c->rx_binary) {
        proto_error(c, NULL, CR_API_BAD_REQUEST, "binary frames are not accepted");
        return 0;
    }
    dispatch(c, c->rx, c->rx_len);
    return 0;
}

/* --- lifecycle --- */

static int filter(struct lws *wsi)
{
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (n <= 0 || strcmp(uri, CR_WS_PATH) != 0)
        return 1; /* WebSocket only at /ws */
    return n_conns >= CR_WS_MAX_CONNS;
}

static int on_established(cr_http_t *h, struct lws *wsi)
{
    ws_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->rx = malloc(CR_WS_MAX_MSG)) == NULL) {
        free(c);
        return -1;
    }
    c->wsi = wsi;
    c->h = h;
    c->l.send = listener_send;
    c->l.close = listener_close;
    cr_list_init(&c->out);
    c->opened_us = c->bucket_us = cr_now_us();
    c->bucket_milli = CR_WS_BURST * 1000u;
    lws_set_opaque_user_data(wsi, c);
    n_conns++;
    lws_sul_schedule(lws_get_context(wsi), 0, &c->sul, tick, CR_WS_TICK_US);
    return 0;
}

static void on_closed(ws_conn_t *c)
{
    if (c == NULL)
        return;
    lws_set_opaque_user_data(c->wsi, NULL);
    lws_sul_cancel(&c->sul);
    cr__ws_ops_drop(&c->l);
    cr__listener_detach(c->h->relay, &c->l);
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &c->out)
    {
        cr_list_unlink(it);
        free(cr_container_of(it, ws_out_t, link));
    }
    free(c->rx);
    free(c);
    n_conns--;
}

int cr__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    cr_http_t *h = lws_context_user(lws_get_context(wsi));
    ws_conn_t *c = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(h, wsi);
    case LWS_CALLBACK_RECEIVE:
        return c != NULL ? on_receive(c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c != NULL ? on_writeable(c) : -1;
    case LWS_CALLBACK_CLOSED:
        on_closed(c);
        return 0;
    default:
        return 0;
    }
}
