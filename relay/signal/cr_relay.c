/*
 * The control plane's core: lifecycle, tokens, WHIP/WHEP offers with their authorization, DELETE,
 * worker events and status. Classes and participants are in cr_relay_class.c.
 */
#include "cr_relay.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_api_err.h"
#include "cr_clock.h"
#include "cr_err.h"
#include "cr_events.h"
#include "cr_log.h"
#include "cr_ops.h"
#include "cr_relay_int.h"
#include "cr_sdp.h"
#include "cr_worker.h"

#define CR_ANSWER_MAX 16384

_Static_assert(CR__REFUSAL_SLOTS >= CR_API_ERR_COUNT, "refusal counters");

/* --- replies and refusals --- */

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

void cr__relay_count(cr_relay_t *r, int code, const char *detail)
{
    static cr_log_limit_t lim;
    char safe[160]; /* a detail may quote what a peer sent: no control characters in our log */
    size_t n = 0;
    for (const char *p = detail ? detail : ""; *p != '\0' && n + 1 < sizeof(safe); p++)
        safe[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    safe[n] = '\0';
    int i = cr_api_err_index(code);
    r->refusals++;
    if (i >= 0)
        r->refusals_by_code[i]++;
    cr_event(CR_LOG_INFO, "refused", "#code", (long long)code, "reason", cr_api_err_text(code), "detail", safe, NULL);
    CR_LOG_RATELIMITED(&lim, cr_now_us(), CR_LOG_INFO, "relay", "refused (%d): %s%s%s", code, cr_api_err_text(code),
                       safe[0] ? ": " : "", safe);
}

void cr__relay_refuse(cr_relay_t *r, cr_relay_reply_t *out, int code, const char *detail)
{
    cr_relay_reply_error(out, code, detail);
    cr__relay_count(r, code, detail);
}

/* --- tokens --- */

int cr_relay_set_key(cr_relay_t *r, const uint8_t *key, size_t len)
{
    if (len < CR_AUTH_SECRET_MIN || len > CR_AUTH_SECRET_MAX)
        return CR_EINVAL;
    memcpy(r->key, key, len);
    r->key_len = len;
    return 0;
}

int cr__relay_verify(cr_relay_t *r, const char *tok, size_t tok_len, cr_claims_t *c)
{
    if (tok == NULL || tok_len == 0)
        return CR_API_NO_TOKEN;
    int rc = cr_auth_verify(r->key, r->key_len, tok, tok_len, (int64_t)time(NULL), c);
    if (rc == 0)
        return 0;
    return rc == CR_AUTH_EEXPIRED ? CR_API_EXPIRED : CR_API_BAD_TOKEN;
}

/* The claims of req's bearer token, or the API code (with the token library's reason in detail). */
static int bearer_claims(cr_relay_t *r, const cr_relay_req_t *req, cr_claims_t *c, char *detail, size_t cap)
{
    const char *tok = NULL;
    size_t len = 0;
    if (req == NULL || req->auth == NULL || req->auth[0] == '\0')
        return CR_API_NO_TOKEN;
    if (cr_auth_bearer(req->auth, strlen(req->auth), &tok, &len) != 0) {
        snprintf(detail, cap, "Authorization is not 'Bearer <token>'");
        return CR_API_NO_TOKEN;
    }
    int rc = cr_auth_verify(r->key, r->key_len, tok, len, (int64_t)time(NULL), c);
    if (rc == 0)
        return 0;
    snprintf(detail, cap, "%s", cr_auth_strerror(rc));
    return rc == CR_AUTH_EEXPIRED ? CR_API_EXPIRED : CR_API_BAD_TOKEN;
}

/* --- sessions --- */

cr__session_t *cr__relay_session_find(cr_relay_t *r, const char *resource_id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        cr__session_t *s = cr_container_of(it, cr__session_t, link);
        if (strcmp(s->resource_id, resource_id) == 0)
            return s;
    }
    return NULL;
}

/* Forgets s (the worker has dropped it or is asked to); its owner and class may go with it. */
static void session_forget(cr_relay_t *r, cr__session_t *s)
{
    cr__participant_t *p = s->owner;
    cr__class_t *c = p->cls;
    int was_pub = p->pub == s;
    if (s->role == CR_PEER_SUBSCRIBER && c->n_subscribers > 0)
        c->n_subscribers--;
    int was_sub = s->role == CR_PEER_SUBSCRIBER;
    if (c->main_pub == s)
        c->main_pub = NULL;
    if (was_pub)
        p->pub = NULL;
    cr_list_unlink(&s->link);
    cr_list_unlink(&s->plink);
    p->n_sessions--;
    r->n_sessions--;
    free(s);
    if (was_sub)
        cr__sched_leave(r, c, p); /* its floor's reservation, once it watches nothing more here */
    if (was_pub) {
        cr__class_rebind(r, c);
        cr__participant_changed(r, p);
    }
    cr__participant_gc(r, p, "left");
}

void cr__relay_session_close(cr_relay_t *r, cr__session_t *s)
{
    cr_worker_remove_peer(r->workers[s->owner->cls->worker], s->resource_id);
    cr_log(CR_LOG_INFO, "relay", "session %s of class '%s' closed", s->resource_id, s->class_id);
    session_forget(r, s);
}

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

/* --- offers: authorization --- */

typedef struct offer_ctx {
    cr_claims_t claims;
    cr__class_t *cls;
    cr__participant_t *p;
    enum cr__view view;
    char source[CR_AUTH_ID_MAX + 1];
    cr_sdp_t offer, answer;
    char ufrag[CR_ICE_UFRAG_LEN + 1], pwd[CR_ICE_PWD_LEN + 1];
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char detail[192];
} offer_ctx_t;

/* WHEP query: "view=main|stage" and/or "source=<participant-id>", '&'-separated; nothing else. */
static int parse_view(const char *q, offer_ctx_t *o)
{
    o->view = CR__VIEW_MAIN;
    while (q != NULL && *q != '\0') {
        size_t n = strcspn(q, "&");
        if (n > 5 && memcmp(q, "view=", 5) == 0) {
            if (n == 9 && memcmp(q + 5, "main", 4) == 0)
                o->view = o->view == CR__VIEW_SOURCE ? o->view : CR__VIEW_MAIN;
            else if (n == 10 && memcmp(q + 5, "stage", 5) == 0)
                o->view = CR__VIEW_STAGE;
            else
                return -1;
        } else if (n > 7 && memcmp(q, "source=", 7) == 0 && cr_class_id_valid(q + 7, n - 7)) {
            memcpy(o->source, q + 7, n - 7);
            o->source[n - 7] = '\0';
            o->view = CR__VIEW_SOURCE;
        } else if (n > 0) {
            return -1;
        }
        q += n + (q[n] == '&');
    }
    return 0;
}

/* Finds the class, creating an ad-hoc one for a teacher who publishes to an unknown id. */
static int find_class(cr_relay_t *r, enum cr_peer_role role, const char *class_id, offer_ctx_t *o)
{
    o->cls = cr__class_find(r, class_id);
    if (o->cls != NULL)
        return 0;
    if (role != CR_PEER_PUBLISHER || o->claims.role != CR_ROLE_TEACHER) {
        snprintf(o->detail, sizeof(o->detail), "class '%s' has not started", class_id);
        return CR_API_NOT_LIVE;
    }
    cr_class_desc_t d;
    cr_class_desc_init(&d, class_id, CR_KIND_SYNCHRONOUS, CR_ORIGIN_ADHOC);
    o->cls = cr__class_add(r, &d);
    if (o->cls == NULL) {
        snprintf(o->detail, sizeof(o->detail), "max_classes reached");
        return CR_API_RELAY_FULL;
    }
    return 0;
}

static int authorize_publish(cr__class_t *c, offer_ctx_t *o)
{
    const cr_claims_t *cl = &o->claims;
    cr__participant_t *me = cr__participant_find(c, cl->sub);
    int on_stage = me != NULL && c->stage == me, hand = me != NULL && me->hand;
    switch (cr_class_allowed(&c->d, cl->role, CR_ACT_PUBLISH, on_stage, hand)) {
    case CR_CLASS_OK:
        break;
    case CR_CLASS_DENY_NOT_STAGE:
        return CR_API_NOT_ON_STAGE;
    default:
        snprintf(o->detail, sizeof(o->detail), "%s may not publish in a %s class", cr_role_name(cl->role),
                 cr_class_kind_name(c->d.kind));
        return CR_API_FORBIDDEN;
    }
    if (cl->role == CR_ROLE_TEACHER) {
        if (c->main_pub != NULL && strcmp(c->main_pub->owner->id, cl->sub) != 0) {
            snprintf(o->detail, sizeof(o->detail), "'%s' is teaching", c->main_pub->owner->id);
            return CR_API_TEACHER_BUSY;
        }
        return 0;
    }
    return c->d.state == CR_CLASS_LIVE ? 0 : CR_API_NOT_LIVE;
}

static int authorize_subscribe(cr_relay_t *r, cr__class_t *c, offer_ctx_t *o, const cr_relay_req_t *req)
{
    if (parse_view(req ? req->query : NULL, o) != 0) {
        snprintf(o->detail, sizeof(o->detail), "query: view=main|stage or source=<participant-id>");
        return CR_API_BAD_REQUEST;
    }
    if (c->d.state != CR_CLASS_LIVE)
        return CR_API_NOT_LIVE;
    if (cr_class_allowed(&c->d, o->claims.role, CR_ACT_SUBSCRIBE, 0, 0) != CR_CLASS_OK)
        return CR_API_FORBIDDEN;
    if (o->view == CR__VIEW_SOURCE && cr_class_allowed(&c->d, o->claims.role, CR_ACT_VIEW_ANY, 0, 0) != CR_CLASS_OK) {
        snprintf(o->detail, sizeof(o->detail), "%s may not choose a source", cr_role_name(o->claims.role));
        return CR_API_FORBIDDEN;
    }
    if (c->n_subscribers >= r->conf.max_subscribers) {
        snprintf(o->detail, sizeof(o->detail), "%u subscribers", c->n_subscribers);
        return CR_API_CLASS_FULL;
    }
    /* The classroom's links must carry its floor (admission, issue 5). */
    return cr__sched_admit_join(r, c, &o->claims, o->detail, sizeof(o->detail));
}

/* Token, class, membership and rules. Returns 0 with o->cls and o->p set, or the API code. */
static int authorize_offer(cr_relay_t *r, enum cr_peer_role role, const char *class_id, const cr_relay_req_t *req,
                           offer_ctx_t *o)
{
    int code = bearer_claims(r, req, &o->claims, o->detail, sizeof(o->detail));
    if (code != 0)
        return code;
    if (!cr_auth_class_ok(&o->claims, class_id))
        return CR_API_WRONG_CLASS;
    if ((code = find_class(r, role, class_id, o)) != 0)
        return code;
    if ((code = cr__class_admit(o->cls, &o->claims, o->detail, sizeof(o->detail))) != 0)
        return code;
    code = role == CR_PEER_PUBLISHER ? authorize_publish(o->cls, o) : authorize_subscribe(r, o->cls, o, req);
    if (code != 0)
        return code;
    if (r->n_sessions >= r->conf.max_peers) {
        snprintf(o->detail, sizeof(o->detail), "max_peers reached");
        return CR_API_RELAY_FULL;
    }
    o->p = cr__participant_get(r, o->cls, &o->claims, &code);
    return o->p != NULL ? 0 : code;
}

/* --- offers: negotiation and the new session --- */

static int negotiate(cr_relay_t *r, enum cr_peer_role role, offer_ctx_t *o)
{
    cr_sdp_answer_params_t p = {
        .role = role == CR_PEER_PUBLISHER ? CR_SDP_ROLE_PUBLISHER : CR_SDP_ROLE_SUBSCRIBER,
        .ice_ufrag = o->ufrag,
        .ice_pwd = o->pwd,
        .fingerprint = cr_dtls_cert_fingerprint(r->cert),
        .cand_ip = r->conf.announce_ip,
        .cand_port = cr_worker_port(r->workers[o->cls->worker]),
        .cname = "classrelay",
        .stream_id = o->cls->d.id,
    };
    for (unsigned i = 0; i < CR_SDP_MAX_MEDIA; i++)
        if (cr_random_bytes(&p.send_ssrc[i], sizeof(p.send_ssrc[i])) != 0)
            return CR_API_INTERNAL;
    int err = cr_sdp_negotiate(&o->offer, &p, &o->answer);
    if (err == CR_EINVAL)
        return CR_API_BAD_OFFER;
    if (err != 0) {
        snprintf(o->detail, sizeof(o->detail), "%s", cr_strerror(err));
        return CR_API_NEGOTIATE;
    }
    /* A session may go on without an m-line it offered (audio only, say), but the peer is told
     * only by a port of 0 in the answer, so say it here too. */
    for (unsigned i = 0; i < o->answer.n_media && i < o->offer.n_media; i++) {
        const cr_sdp_media_t *om = &o->offer.media[i];
        if (o->answer.media[i].port != 0 || om->kind > CR_SDP_VIDEO)
            continue;
        cr_log(CR_LOG_WARN, "relay",
               "%s of '%s' in class '%s': %s m-line (mid %s) refused: no codec offered that the relay "
               "forwards (%s)",
               role == CR_PEER_PUBLISHER ? "publisher" : "subscriber", o->claims.sub, o->cls->d.id,
               om->kind == CR_SDP_VIDEO ? "video" : "audio", om->mid,
               om->kind == CR_SDP_VIDEO ? "H.264 with packetization-mode=1, or VP8" : "opus/48000/2");
    }
    return 0;
}

static int reply_answer(offer_ctx_t *o, cr_relay_reply_t *out)
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
    return 0;
}

/* Registers the new session s of o->p, replacing its previous publisher session. */
static void session_register(cr_relay_t *r, enum cr_peer_role role, offer_ctx_t *o, cr__session_t *s)
{
    cr__class_t *c = o->cls;
    cr__participant_t *p = o->p;
    memcpy(s->resource_id, o->resource_id, sizeof(s->resource_id));
    memcpy(s->class_id, c->d.id, sizeof(s->class_id));
    s->role = role;
    s->owner = p;
    s->created_us = cr_now_us();
    s->view = o->view;
    memcpy(s->source, o->source, sizeof(s->source));
    cr_list_insert(&r->sessions, &s->link);
    cr_list_insert(&p->sessions, &s->plink);
    p->n_sessions++;
    r->n_sessions++;
    if (role == CR_PEER_SUBSCRIBER) {
        c->n_subscribers++;
        cr__session_bind(r, c, s);
        return;
    }
    if (p->pub != NULL) {
        /* A reconnect. The worker itself replaces a main publisher; another one is removed here. */
        cr__session_t *old = p->pub;
        if (!old->is_main)
            cr_worker_remove_peer(r->workers[c->worker], old->resource_id);
        p->pub = NULL;
        if (c->main_pub == old)
            c->main_pub = NULL;
        cr_list_unlink(&old->link);
        cr_list_unlink(&old->plink);
        p->n_sessions--;
        r->n_sessions--;
        free(old);
    }
    p->pub = s;
    s->is_main = o->claims.role == CR_ROLE_TEACHER;
    if (s->is_main)
        c->main_pub = s;
    if (p->audio_muted || p->video_muted)
        cr_worker_set_muted(r->workers[c->worker], s->resource_id, p->audio_muted, p->video_muted);
    if (s->is_main && c->d.state == CR_CLASS_SCHEDULED)
        cr__class_start(r, c, "teacher");
    cr__class_rebind(r, c);
    cr__participant_changed(r, p);
}

/* Negotiates o->offer and creates the peer and its session. Returns 0 or the API code. */
static int create_session(cr_relay_t *r, enum cr_peer_role role, offer_ctx_t *o, cr_relay_reply_t *out)
{
    cr_peer_t *peer = NULL;
    if (cr_random_token(o->ufrag, CR_ICE_UFRAG_LEN) != 0 || cr_random_token(o->pwd, CR_ICE_PWD_LEN) != 0 ||
        make_resource_id(o->resource_id) != 0)
        return CR_API_INTERNAL;
    int code = negotiate(r, role, o);
    if (code != 0)
        return code;
    int err = cr_peer_new(&peer, role, o->cls->d.id, o->resource_id, o->ufrag, o->pwd, &o->offer, &o->answer,
                          r->conf.history_packets);
    if (err != 0) {
        snprintf(o->detail, sizeof(o->detail), "%s", cr_strerror(err));
        return err == CR_ENEGOTIATE ? CR_API_NEGOTIATE : CR_API_INTERNAL;
    }
    /* A classroom's WHIP is an additional source; only the teacher's replaces the main one. */
    peer->is_main = role == CR_PEER_PUBLISHER && o->claims.role == CR_ROLE_TEACHER;
    /* Its place in the bandwidth scheduler's tree: the token's school and classroom (its sub). */
    cr_peer_set_place(peer, o->claims.school, o->claims.sub, (int)o->cls->d.kind, o->view == CR__VIEW_STAGE);
    cr__session_t *s = calloc(1, sizeof(*s));
    if (s == NULL || reply_answer(o, out) != 0 || cr_worker_add_peer(r->workers[o->cls->worker], peer) != 0) {
        free(s);
        cr_peer_free(peer);
        cr_relay_reply_dispose(out);
        snprintf(o->detail, sizeof(o->detail), "cannot create session");
        return CR_API_INTERNAL;
    }
    session_register(r, role, o, s);
    cr_log(CR_LOG_INFO, "relay", "%s '%s' %s%s: %s in class '%s'", cr_role_name(o->claims.role), o->p->id,
           role == CR_PEER_PUBLISHER ? "publishes" : "subscribes", s->is_main ? " (main source)" : "",
           s->resource_id, o->cls->d.id);
    return 0;
}

void cr_relay_offer(cr_relay_t *r, enum cr_peer_role role, const char *class_id, const char *sdp, size_t len,
                    const cr_relay_req_t *req, cr_relay_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!cr_class_id_valid(class_id, strlen(class_id))) {
        cr__relay_refuse(r, out, CR_API_BAD_CLASS_ID, NULL);
        return;
    }
    if (len > CR_SDP_MAX_SIZE) {
        cr__relay_refuse(r, out, CR_API_TOO_BIG, "SDP offer over 32768 bytes");
        return;
    }
    offer_ctx_t *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        cr__relay_refuse(r, out, CR_API_INTERNAL, "out of memory");
        return;
    }
    int code = authorize_offer(r, role, class_id, req, o);
    if (code == 0) {
        int err = cr_sdp_parse(sdp, len, &o->offer);
        if (err != 0) {
            snprintf(o->detail, sizeof(o->detail), "%s", cr_strerror(err));
            code = err == CR_ETOOBIG ? CR_API_TOO_BIG : CR_API_BAD_SDP;
        }
    }
    if (code == 0)
        code = create_session(r, role, o, out);
    if (code != 0) {
        cr__relay_refuse(r, out, code, o->detail);
        if (o->p != NULL)
            cr__participant_gc(r, o->p, "left"); /* created for this offer only */
        else if (o->cls != NULL)
            cr__class_gc(r, o->cls);
    }
    free(o);
}

/* --- DELETE --- */

void cr_relay_delete(cr_relay_t *r, const char *resource_id, const cr_relay_req_t *req, cr_relay_reply_t *out)
{
    cr_claims_t c;
    char detail[128] = "";
    memset(out, 0, sizeof(*out));
    int code = bearer_claims(r, req, &c, detail, sizeof(detail));
    if (code != 0) {
        cr__relay_refuse(r, out, code, detail);
        return;
    }
    cr__session_t *s = cr__relay_session_find(r, resource_id);
    if (s == NULL) {
        cr__relay_refuse(r, out, CR_API_NOT_FOUND, NULL);
        return;
    }
    int admin = c.role == CR_ROLE_ADMIN && cr_auth_class_ok(&c, s->class_id);
    int owner = c.role == s->owner->role && strcmp(c.sub, s->owner->id) == 0 && cr_auth_class_ok(&c, s->class_id);
    if (!admin && !owner) {
        cr__relay_refuse(r, out, CR_API_NOT_OWNER, NULL);
        return;
    }
    cr__relay_session_close(r, s);
    out->status = 200;
}

/* --- worker events --- */

static void on_closed(cr_relay_t *r, cr__session_t *s, enum cr_peer_close_reason reason)
{
    if (reason == CR_CLOSE_CONSENT || reason == CR_CLOSE_DTLS) {
        json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "link", "participant", s->owner->id, "state", "lost",
                               "reason", cr_peer_close_reason_name(reason), "resource", s->resource_id);
        cr__class_broadcast(s->owner->cls, ev);
        json_decref(ev);
    }
    session_forget(r, s);
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
        cr__session_t *s = cr__relay_session_find(r, ev->resource_id);
        if (s != NULL) {
            if (ev->type == CR_EV_PEER_CONNECTED) {
                s->connected = 1;
                cr_log(CR_LOG_INFO, "relay",
                       "session %s of class '%s' connected (ICE, DTLS) %llu ms after its offer", s->resource_id, s->class_id,
                       (unsigned long long)((cr_now_us() - s->created_us) / 1000u));
                if (s->owner->pub == s)
                    cr__participant_changed(r, s->owner);
            } else {
                on_closed(r, s, ev->reason);
            }
        }
        free(ev);
    }
    int64_t now = (int64_t)time(NULL);
    if (now != r->last_tick_s) {
        r->last_tick_s = now;
        cr__class_tick(r, now);
        cr__sched_tick(r);   /* the scheduler's links into the operator view */
        cr_ops_tick(r, now); /* operator view, alerts, lesson reports (cr_ops.c) */
    }
}

/* --- lifecycle --- */

static void free_event(cr_list_t *l)
{
    free(cr_container_of(l, cr_worker_event_t, link));
}

static int start_workers(cr_relay_t *r, const cr_conf_t *conf, char *err, size_t err_cap)
{
    r->workers = calloc(conf->workers, sizeof(*r->workers));
    if (r->workers == NULL)
        return CR_ENOMEM;
    for (unsigned i = 0; i < conf->workers; i++) {
        cr_worker_opts_t o = {
            .index = i,
            .bind_ip = r->conf.media_ip,
            .port = (uint16_t)(conf->media_port + i),
            .consent_timeout_s = conf->consent_timeout_s,
            .dtls_ctx = r->dtls_ctx,
            .events = &r->events,
            .conf = &r->conf,           /* the scheduler's topology */
            .n_workers = conf->workers, /* each plans for its share of every school link */
        };
        int rc = cr_worker_new(&r->workers[i], &o);
        if (rc != 0) {
            snprintf(err, err_cap, "cannot bind media worker %u to UDP %s:%u: %s", i, conf->media_ip,
                     (unsigned)o.port, strerror(errno));
            return rc;
        }
        r->n_workers++;
        cr_worker_start(r->workers[i]);
    }
    return 0;
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
    if ((rc = start_workers(r, conf, err, err_cap)) != 0)
        goto Fail;
    if ((rc = cr__class_load_timetable(r, err, err_cap)) != 0 || (rc = cr__sched_load(r, err, err_cap)) != 0)
        goto Fail;
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
    cr__sched_free(r);
    cr_list_t *it, *tmp, *pit, *ptmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        cr_list_unlink(it);
        free(cr_container_of(it, cr__session_t, link));
    }
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr__class_t *c = cr_container_of(it, cr__class_t, link);
        cr_list_foreach_safe(pit, ptmp, &c->participants)
        {
            cr__participant_t *p = cr_container_of(pit, cr__participant_t, link);
            cr_list_t *lit, *ltmp;
            cr_list_foreach_safe(lit, ltmp, &p->listeners)
            {
                cr__listener_t *l = cr_container_of(lit, cr__listener_t, link);
                cr_list_unlink(lit);
                l->p = NULL;
            }
            free(p);
        }
        cr_list_unlink(it);
        free(c);
    }
    cr_mailbox_dispose(&r->events, free_event);
    cr_dtls_ctx_free(r->dtls_ctx);
    cr_dtls_cert_free(r->cert);
    memset(r->key, 0, sizeof(r->key));
    free(r);
}

/* --- for the other cr_relay_*.c files --- */

int cr__relay_session_worker(cr_relay_t *r, const char *resource_id, cr_worker_t **worker,
                             enum cr_peer_role *role)
{
    cr__session_t *s = cr__relay_session_find(r, resource_id);
    if (s == NULL)
        return CR_ENOTFOUND;
    *worker = r->workers[s->owner->cls->worker];
    *role = s->role;
    return 0;
}
