#include "cr_relay.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_clock.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_sdp.h"
#include "cr_relay_int.h"
#include "cr_worker.h"

#define CR_ANSWER_MAX 16384

/* A WHIP/WHEP session as the control thread knows it. */
typedef struct session {
    cr_list_t link;
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];
    enum cr_peer_role role;
    int connected;
    uint64_t created_us;
} session_t;

typedef struct class_entry {
    cr_list_t link;
    char id[CR_CLASS_ID_MAX + 1];
    session_t *publisher;
    unsigned n_subscribers;
    unsigned worker;
} class_entry_t;

struct cr_relay {
    cr_conf_t conf;
    cr_dtls_cert_t *cert;
    cr_dtls_ctx_t *dtls_ctx;
    cr_worker_t **workers;
    unsigned n_workers;
    cr_mailbox_t events;
    cr_list_t sessions;
    cr_list_t classes;
    unsigned n_sessions, n_classes;
    uint64_t refusals;
};

int cr_class_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > CR_CLASS_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* --- replies --- */

void cr_relay_reply_dispose(cr_relay_reply_t *rep)
{
    free(rep->body);
    rep->body = NULL;
}

void cr_relay_reply_error(cr_relay_reply_t *out, int code, const char *detail)
{
    out->status = cr_api_err_status(code);
    out->code = code;
    if (detail != NULL && detail[0] != '\0')
        snprintf(out->message, sizeof(out->message), "%s: %s", cr_api_err_text(code), detail);
    else
        snprintf(out->message, sizeof(out->message), "%s", cr_api_err_text(code));
}

static void refuse(cr_relay_t *r, cr_relay_reply_t *out, int code, const char *detail)
{
    r->refusals++;
    cr_relay_reply_error(out, code, detail);
    cr_log(CR_LOG_INFO, "relay", "refused (%d): %s", code, out->message);
}

/* --- registry --- */

static class_entry_t *class_find(cr_relay_t *r, const char *id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        class_entry_t *c = cr_container_of(it, class_entry_t, link);
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

static session_t *session_find(cr_relay_t *r, const char *resource_id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        session_t *s = cr_container_of(it, session_t, link);
        if (strcmp(s->resource_id, resource_id) == 0)
            return s;
    }
    return NULL;
}

/* A class lives on one worker (chosen by hash of its id) for as long as it has sessions. */
static unsigned worker_for(cr_relay_t *r, const char *class_id)
{
    uint32_t h = 2166136261u;
    for (const char *p = class_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % r->n_workers;
}

static void session_remove(cr_relay_t *r, session_t *s)
{
    class_entry_t *c = class_find(r, s->class_id);
    if (c != NULL) {
        if (c->publisher == s)
            c->publisher = NULL;
        else if (s->role == CR_PEER_SUBSCRIBER && c->n_subscribers > 0)
            c->n_subscribers--;
        if (c->publisher == NULL && c->n_subscribers == 0) {
            cr_list_unlink(&c->link);
            free(c);
            r->n_classes--;
        }
    }
    cr_list_unlink(&s->link);
    free(s);
    r->n_sessions--;
}

/* --- offers --- */

static int make_resource_id(char out[CR_RESOURCE_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[CR_RESOURCE_ID_LEN / 2];
    if (cr_random_bytes(raw, sizeof(raw)) != 0)
        return CR_ECRYPTO;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[CR_RESOURCE_ID_LEN] = '\0';
    return 0;
}

static int admit(cr_relay_t *r, enum cr_peer_role role, const char *class_id, class_entry_t **cls,
                 cr_relay_reply_t *out)
{
    char detail[128];
    class_entry_t *c = class_find(r, class_id);
    if (r->n_sessions >= r->conf.max_peers) {
        refuse(r, out, CR_API_RELAY_FULL, "max_peers reached");
        return -1;
    }
    if (role == CR_PEER_SUBSCRIBER) {
        if (c == NULL || c->publisher == NULL) {
            snprintf(detail, sizeof(detail), "class '%s' has no publisher", class_id);
            refuse(r, out, CR_API_NOT_LIVE, detail);
            return -1;
        }
        if (c->n_subscribers >= r->conf.max_subscribers) {
            snprintf(detail, sizeof(detail), "%u subscribers", c->n_subscribers);
            refuse(r, out, CR_API_CLASS_FULL, detail);
            return -1;
        }
    }
    if (c == NULL) {
        if (r->n_classes >= r->conf.max_classes) {
            refuse(r, out, CR_API_RELAY_FULL, "max_classes reached");
            return -1;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            refuse(r, out, CR_API_INTERNAL, "out of memory");
            return -1;
        }
        snprintf(c->id, sizeof(c->id), "%s", class_id);
        c->worker = worker_for(r, class_id);
        cr_list_insert(&r->classes, &c->link);
        r->n_classes++;
    }
    *cls = c;
    return 0;
}

typedef struct offer_ctx {
    cr_sdp_t offer, answer;
    char ufrag[CR_ICE_UFRAG_LEN + 1], pwd[CR_ICE_PWD_LEN + 1];
    char resource_id[CR_RESOURCE_ID_LEN + 1];
} offer_ctx_t;

static int negotiate(cr_relay_t *r, enum cr_peer_role role, class_entry_t *c, offer_ctx_t *o,
                     cr_relay_reply_t *out)
{
    char detail[128];
    cr_sdp_answer_params_t p = {
        .role = role == CR_PEER_PUBLISHER ? CR_SDP_ROLE_PUBLISHER : CR_SDP_ROLE_SUBSCRIBER,
        .ice_ufrag = o->ufrag,
        .ice_pwd = o->pwd,
        .fingerprint = cr_dtls_cert_fingerprint(r->cert),
        .cand_ip = r->conf.announce_ip,
        .cand_port = cr_worker_port(r->workers[c->worker]),
        .cname = "classrelay",
        .stream_id = c->id,
    };
    for (unsigned i = 0; i < CR_SDP_MAX_MEDIA; i++)
        if (cr_random_bytes(&p.send_ssrc[i], sizeof(p.send_ssrc[i])) != 0)
            return CR_ECRYPTO;
    int err = cr_sdp_negotiate(&o->offer, &p, &o->answer);
    if (err == CR_EINVAL) {
        refuse(r, out, CR_API_BAD_OFFER, NULL);
        return err;
    }
    if (err != 0) {
        snprintf(detail, sizeof(detail), "%s", cr_strerror(err));
        refuse(r, out, CR_API_NEGOTIATE, detail);
        return err;
    }
    return 0;
}

static int reply_answer(cr_relay_t *r, offer_ctx_t *o, cr_relay_reply_t *out)
{
    out->body = malloc(CR_ANSWER_MAX);
    if (out->body == NULL)
        return CR_ENOMEM;
    int n = cr_sdp_write(&o->answer, out->body, CR_ANSWER_MAX);
    if (n < 0)
        return n;
    out->body_len = (size_t)n;
    out->status = 201;
    out->code = 0;
    out->content_type = "application/sdp";
    snprintf(out->location, sizeof(out->location), "/resource/%s", o->resource_id);
    (void)r;
    return 0;
}

static void relay_offer(cr_relay_t *r, enum cr_peer_role role, class_entry_t *c, offer_ctx_t *o,
                        cr_relay_reply_t *out)
{
    cr_peer_t *peer = NULL;
    char detail[128];
    int err = cr_sdp_parse((const char *)out->body, out->body_len, &o->offer);
    free(out->body);
    out->body = NULL;
    out->body_len = 0;
    if (err != 0) {
        snprintf(detail, sizeof(detail), "%s", cr_strerror(err));
        refuse(r, out, err == CR_ETOOBIG ? CR_API_TOO_BIG : CR_API_BAD_SDP, detail);
        return;
    }
    if (cr_random_token(o->ufrag, CR_ICE_UFRAG_LEN) != 0 || cr_random_token(o->pwd, CR_ICE_PWD_LEN) != 0 ||
        make_resource_id(o->resource_id) != 0) {
        refuse(r, out, CR_API_INTERNAL, "random generator failed");
        return;
    }
    if (negotiate(r, role, c, o, out) != 0)
        return;
    err = cr_peer_new(&peer, role, c->id, o->resource_id, o->ufrag, o->pwd, &o->offer, &o->answer,
                      r->conf.history_packets);
    if (err != 0) {
        refuse(r, out, err == CR_ENEGOTIATE ? CR_API_NEGOTIATE : CR_API_INTERNAL, cr_strerror(err));
        return;
    }
    peer->is_main = role == CR_PEER_PUBLISHER;
    session_t *s = calloc(1, sizeof(*s));
    if (s == NULL || reply_answer(r, o, out) != 0 || cr_worker_add_peer(r->workers[c->worker], peer) != 0) {
        free(s);
        cr_peer_free(peer);
        cr_relay_reply_dispose(out);
        refuse(r, out, CR_API_INTERNAL, "cannot create session");
        return;
    }
    memcpy(s->resource_id, o->resource_id, sizeof(s->resource_id));
    memcpy(s->class_id, c->id, sizeof(s->class_id));
    s->role = role;
    s->created_us = cr_now_us();
    cr_list_insert(&r->sessions, &s->link);
    r->n_sessions++;
    if (role == CR_PEER_PUBLISHER) {
        /* The worker replaces the old publisher; forget it here too. */
        if (c->publisher != NULL) {
            session_t *old = c->publisher;
            c->publisher = NULL;
            cr_list_unlink(&old->link);
            free(old);
            r->n_sessions--;
        }
        c->publisher = s;
    } else {
        c->n_subscribers++;
    }
    cr_log(CR_LOG_INFO, "relay", "%s %s joined class '%s'", role == CR_PEER_PUBLISHER ? "publisher" : "subscriber",
           s->resource_id, c->id);
}

void cr_relay_offer(cr_relay_t *r, enum cr_peer_role role, const char *class_id, const char *sdp,
                    size_t len, cr_relay_reply_t *out)
{
    class_entry_t *c = NULL;
    memset(out, 0, sizeof(*out));
    if (!cr_class_id_valid(class_id, strlen(class_id))) {
        refuse(r, out, CR_API_BAD_CLASS_ID, NULL);
        return;
    }
    if (len > CR_SDP_MAX_SIZE) {
        refuse(r, out, CR_API_TOO_BIG, "SDP offer over 32768 bytes");
        return;
    }
    if (admit(r, role, class_id, &c, out) != 0)
        return;
    offer_ctx_t *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        refuse(r, out, CR_API_INTERNAL, "out of memory");
    } else {
        /* Hand the text through the reply so relay_offer has one cleanup path. */
        out->body = malloc(len ? len : 1);
        if (out->body != NULL) {
            memcpy(out->body, sdp, len);
            out->body_len = len;
            relay_offer(r, role, c, o, out);
        } else {
            refuse(r, out, CR_API_INTERNAL, "out of memory");
        }
        free(o);
    }
    if (c->publisher == NULL && c->n_subscribers == 0) { /* nothing joined: drop the empty class */
        cr_list_unlink(&c->link);
        free(c);
        r->n_classes--;
    }
}

void cr_relay_delete(cr_relay_t *r, const char *resource_id, cr_relay_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    session_t *s = session_find(r, resource_id);
    if (s == NULL) {
        refuse(r, out, CR_API_NOT_FOUND, NULL);
        return;
    }
    class_entry_t *c = class_find(r, s->class_id);
    if (c != NULL)
        cr_worker_remove_peer(r->workers[c->worker], s->resource_id);
    cr_log(CR_LOG_INFO, "relay", "session %s of class '%s' deleted", s->resource_id, s->class_id);
    session_remove(r, s);
    out->status = 200;
}

void cr_relay_poll(cr_relay_t *r)
{
    cr_list_t evs, *it, *tmp;
    cr_list_init(&evs);
    cr_mailbox_drain(&r->events, &evs);
    cr_list_foreach_safe(it, tmp, &evs)
    {
        cr_worker_event_t *ev = cr_container_of(it, cr_worker_event_t, link);
        cr_list_unlink(it);
        session_t *s = session_find(r, ev->resource_id);
        if (s != NULL) {
            if (ev->type == CR_EV_PEER_CONNECTED)
                s->connected = 1;
            else
                session_remove(r, s);
        }
        free(ev);
    }
}

/* --- status --- */

static json_t *worker_json(const cr_worker_t *w)
{
    const cr_worker_stats_t *st = cr_worker_stats(w);
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:I}",
                     "port", (json_int_t)cr_worker_port(w),
                     "packets_in", (json_int_t)st->packets_in, "bytes_in", (json_int_t)st->bytes_in,
                     "packets_out", (json_int_t)st->packets_out, "bytes_out", (json_int_t)st->bytes_out,
                     "forwarded", (json_int_t)st->forwarded,
                     "drops", "malformed", (json_int_t)st->drop_malformed,
                     "srtp_auth", (json_int_t)st->drop_srtp_auth, "replay", (json_int_t)st->drop_replay,
                     "unknown_peer", (json_int_t)st->drop_unknown_peer,
                     "queue_full", (json_int_t)st->drop_queue_full, "stun_auth", (json_int_t)st->drop_stun_auth,
                     "nacks_in", (json_int_t)st->nacks_in, "retransmits", (json_int_t)st->retransmits,
                     "keyframe_requests_in", (json_int_t)st->kf_requests_in,
                     "keyframe_requests_sent", (json_int_t)st->kf_requests_sent,
                     "peers", (json_int_t)st->peers);
    /* Relay-added latency (receive -> sendmmsg) of forwarded media since start. */
    json_object_set_new(j, "latency_p50_us", json_integer((json_int_t)cr_worker_latency_percentile(st, 50)));
    json_object_set_new(j, "latency_p99_us", json_integer((json_int_t)cr_worker_latency_percentile(st, 99)));
    return j;
}

void cr_relay_status(cr_relay_t *r, cr_relay_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_object(), *classes = json_array(), *workers = json_array();
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        class_entry_t *c = cr_container_of(it, class_entry_t, link);
        json_array_append_new(classes, json_pack("{s:s,s:b,s:i,s:i}", "id", c->id, "live", c->publisher != NULL,
                                                 "subscribers", (int)c->n_subscribers, "worker", (int)c->worker));
    }
    for (unsigned i = 0; i < r->n_workers; i++)
        json_array_append_new(workers, worker_json(r->workers[i]));
    json_object_set_new(root, "classes", classes);
    json_object_set_new(root, "workers", workers);
    json_object_set_new(root, "sessions", json_integer(r->n_sessions));
    json_object_set_new(root, "refusals", json_integer((json_int_t)r->refusals));
    out->body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    out->body_len = out->body ? strlen(out->body) : 0;
    out->status = out->body ? 200 : 500;
    out->content_type = "application/json";
}

/* --- lifecycle --- */

static void free_event(cr_list_t *l)
{
    free(cr_container_of(l, cr_worker_event_t, link));
}

int cr_relay_new(cr_relay_t **out, const cr_conf_t *conf, char *err, size_t err_cap)
{
    cr_relay_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CR_ENOMEM;
    r->conf = *conf;
    cr_list_init(&r->sessions);
    cr_list_init(&r->classes);
    cr_mailbox_init(&r->events, 1u << 20, 0);
    int rc = cr_srtp_global_init();
    if (rc == 0)
        rc = cr_dtls_cert_new(&r->cert);
    if (rc == 0)
        rc = cr_dtls_ctx_new(&r->dtls_ctx, r->cert);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot set up DTLS/SRTP: %s", cr_strerror(rc));
        goto Fail;
    }
    r->workers = calloc(conf->workers, sizeof(*r->workers));
    if (r->workers == NULL) {
        rc = CR_ENOMEM;
        goto Fail;
    }
    for (unsigned i = 0; i < conf->workers; i++) {
        cr_worker_opts_t o = {
            .index = i,
            .bind_ip = r->conf.media_ip,
            .port = (uint16_t)(conf->media_port + i),
            .consent_timeout_s = conf->consent_timeout_s,
            .dtls_ctx = r->dtls_ctx,
            .events = &r->events,
        };
        rc = cr_worker_new(&r->workers[i], &o);
        if (rc != 0) {
            snprintf(err, err_cap, "cannot bind media worker %u to UDP %s:%u: %s", i, conf->media_ip,
                     (unsigned)o.port, strerror(errno));
            goto Fail;
        }
        r->n_workers++;
        cr_worker_start(r->workers[i]);
    }
    *out = r;
    return 0;
Fail:
    cr_relay_free(r);
    return rc;
}

void cr_relay_free(cr_relay_t *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < r->n_workers; i++)
        cr_worker_free(r->workers[i]);
    free(r->workers);
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        cr_list_unlink(it);
        free(cr_container_of(it, session_t, link));
    }
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr_list_unlink(it);
        free(cr_container_of(it, class_entry_t, link));
    }
    cr_mailbox_dispose(&r->events, free_event);
    cr_dtls_ctx_free(r->dtls_ctx);
    cr_dtls_cert_free(r->cert);
    free(r);
}

/* --- for the other cr_relay_*.c files --- */

int cr__relay_session_worker(cr_relay_t *r, const char *resource_id, cr_worker_t **worker,
                             enum cr_peer_role *role)
{
    session_t *s = session_find(r, resource_id);
    class_entry_t *c = s != NULL ? class_find(r, s->class_id) : NULL;
    if (c == NULL)
        return CR_ENOTFOUND;
    *worker = r->workers[c->worker];
    *role = s->role;
    return 0;
}
