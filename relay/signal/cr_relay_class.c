/*
 * Classes and participants in the control plane: the registry (timetable, admin, ad hoc), who is in
 * a class, which source each WHEP session receives (main, stage, a chosen participant), the stage,
 * and the events every participant's WebSocket connections receive (docs/PROTOCOL.md section 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_events.h"
#include "cr_api_err.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_relay_int.h"

_Static_assert((int)CR_CONF_KIND_SYNCHRONOUS == (int)CR_KIND_SYNCHRONOUS &&
                   (int)CR_CONF_KIND_DEDICATED == (int)CR_KIND_DEDICATED &&
                   (int)CR_CONF_KIND_MASTER == (int)CR_KIND_MASTER && (int)CR_CONF_KIND_NETWORK == (int)CR_KIND_NETWORK,
               "cr_conf kinds follow enum cr_class_kind");

/* A source resource id that never exists: the worker keeps such a subscriber waiting. */
#define CR__NO_SOURCE "-"

/* --- registry --- */

cr__class_t *cr__class_find(cr_relay_t *r, const char *id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr__class_t *c = cr_container_of(it, cr__class_t, link);
        if (strcmp(c->d.id, id) == 0)
            return c;
    }
    return NULL;
}

/* A class lives on one worker (chosen by hash of its id). */
static unsigned worker_for(cr_relay_t *r, const char *class_id)
{
    uint32_t h = 2166136261u;
    for (const char *p = class_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % r->n_workers;
}

cr__class_t *cr__class_add(cr_relay_t *r, const cr_class_desc_t *d)
{
    if (r->n_classes >= r->conf.max_classes)
        return NULL;
    cr__class_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->d = *d;
    cr_list_init(&c->participants);
    c->worker = worker_for(r, d->id);
    cr_list_insert(&r->classes, &c->link);
    r->n_classes++;
    cr_log(CR_LOG_INFO, "relay", "class '%s' (%s, %s) created", d->id, cr_class_kind_name(d->kind),
           cr_class_origin_name(d->origin));
    return c;
}

int cr__class_load_timetable(cr_relay_t *r, char *err, size_t err_cap)
{
    for (unsigned i = 0; i < r->conf.n_classes; i++) {
        const cr_conf_class_t *e = &r->conf.classes[i];
        cr_class_desc_t d;
        if (cr_class_desc_init(&d, e->id, (enum cr_class_kind)e->kind, CR_ORIGIN_TIMETABLE) != 0 ||
            cr_class_invite_list(&d, e->classrooms, strlen(e->classrooms)) != 0) {
            snprintf(err, err_cap, "[class.%s]: invalid definition", e->id);
            return CR_EINVAL;
        }
        if (e->title[0])
            snprintf(d.title, sizeof(d.title), "%s", e->title);
        snprintf(d.school, sizeof(d.school), "%s", e->school);
        snprintf(d.teacher, sizeof(d.teacher), "%s", e->teacher);
        d.start = e->start;
        d.end = e->end;
        if (cr__class_find(r, d.id) != NULL || cr__class_add(r, &d) == NULL) {
            snprintf(err, err_cap, "[class.%s]: duplicate or over max_classes", e->id);
            return CR_EINVAL;
        }
    }
    return 0;
}

void cr__class_gc(cr_relay_t *r, cr__class_t *c)
{
    if (c->d.origin != CR_ORIGIN_ADHOC || c->n_participants > 0 || c->hold > 0)
        return;
    cr_log(CR_LOG_INFO, "relay", "ad-hoc class '%s' is empty: removed", c->d.id);
    cr_list_unlink(&c->link);
    r->n_classes--;
    free(c);
}

int cr__class_admit(const cr__class_t *cls, const cr_claims_t *c, char *detail, size_t cap)
{
    if (!cr_auth_class_ok(c, cls->d.id))
        return CR_API_WRONG_CLASS;
    if (cls->d.state == CR_CLASS_ENDED)
        return CR_API_ENDED;
    if (c->role == CR_ROLE_CLASSROOM && !cr_class_is_invited(&cls->d, c->sub)) {
        snprintf(detail, cap, "'%s' is not on the list of class '%s'", c->sub, cls->d.id);
        return CR_API_NOT_INVITED;
    }
    if (c->role == CR_ROLE_TEACHER && cls->d.teacher[0] != '\0' && strcmp(cls->d.teacher, c->sub) != 0) {
        snprintf(detail, cap, "class '%s' is taught by '%s'", cls->d.id, cls->d.teacher);
        return CR_API_NOT_TEACHER;
    }
    return 0;
}

/* --- participants --- */

cr__participant_t *cr__participant_find(cr__class_t *cls, const char *id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &cls->participants)
    {
        cr__participant_t *p = cr_container_of(it, cr__participant_t, link);
        if (strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

cr__participant_t *cr__participant_get(cr_relay_t *r, cr__class_t *cls, const cr_claims_t *c, int *code)
{
    cr__participant_t *p = cr__participant_find(cls, c->sub);
    if (p != NULL) {
        if (p->role == c->role)
            return p;
        *code = CR_API_FORBIDDEN; /* one id, one role: a classroom cannot pose as the teacher */
        return NULL;
    }
    if (cls->n_participants >= r->conf.max_subscribers + CR_PARTICIPANTS_EXTRA) {
        *code = CR_API_PARTICIPANTS_FULL;
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        *code = CR_API_INTERNAL;
        return NULL;
    }
    p->cls = cls;
    p->role = c->role;
    memcpy(p->id, c->sub, sizeof(p->id));
    memcpy(p->name, c->name[0] ? c->name : c->sub, sizeof(p->name));
    memcpy(p->school, c->school, sizeof(p->school));
    cr_list_init(&p->sessions);
    cr_list_init(&p->listeners);
    cr_list_insert(&cls->participants, &p->link);
    cls->n_participants++;
    cr_event(CR_LOG_INFO, "participant_joined", "class", cls->d.id, "participant", p->id, "role", cr_role_name(p->role), "school", p->school, NULL);
    json_t *ev = json_pack("{s:s,s:o}", "type", "participant_joined", "participant", cr__participant_json(p));
    cr__class_broadcast(cls, ev);
    json_decref(ev);
    return p;
}

void cr__participant_gc(cr_relay_t *r, cr__participant_t *p, const char *reason)
{
    if (p->n_sessions > 0 || p->n_listeners > 0 || p->hold > 0)
        return;
    cr__class_t *c = p->cls;
    cr_list_unlink(&p->link);
    c->n_participants--;
    cr_event(CR_LOG_INFO, "participant_left", "class", c->d.id, "participant", p->id, "role", cr_role_name(p->role), "reason", reason, NULL);
    json_t *ev = json_pack("{s:s,s:s,s:s}", "type", "participant_left", "participant", p->id, "reason", reason);
    cr__class_broadcast(c, ev);
    json_decref(ev);
    if (c->stage == p) { /* (not cr__class_set_stage: p is going, there is nothing of it to close) */
        c->stage = NULL;
        ev = json_pack("{s:s,s:n,s:s}", "type", "stage", "participant", "by", "relay");
        cr__class_broadcast(c, ev);
        json_decref(ev);
    }
    free(p);
    cr__class_rebind(r, c); /* grid views of p now wait */
    cr__class_gc(r, c);
}

int cr__listener_attach(cr__participant_t *p, cr__listener_t *l)
{
    if (p->n_listeners >= CR_PARTICIPANT_LISTENERS_MAX)
        return CR_API_PARTICIPANTS_FULL;
    cr_list_insert(&p->listeners, &l->link);
    p->n_listeners++;
    l->p = p;
    return 0;
}

void cr__listener_detach(cr_relay_t *r, cr__listener_t *l)
{
    cr__participant_t *p = l->p;
    if (p == NULL)
        return;
    cr_list_unlink(&l->link);
    p->n_listeners--;
    l->p = NULL;
    cr__participant_gc(r, p, "left");
}

/* --- JSON and events --- */

json_t *cr__participant_json(const cr__participant_t *p)
{
    int on_stage = p->cls->stage == p;
    int may_publish = cr_class_allowed(&p->cls->d, p->role, CR_ACT_PUBLISH, on_stage, p->hand) == CR_CLASS_OK;
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b}", "id", p->id, "role", cr_role_name(p->role), "name",
                     p->name, "school", p->school, "publishing", p->pub != NULL && p->pub->connected, "hand", p->hand,
                     "on_stage", on_stage, "audio_muted", p->audio_muted, "video_muted", p->video_muted,
                     "may_publish", may_publish);
}

json_t *cr__class_json(const cr__class_t *c, int with_participants)
{
    json_t *invited = json_array();
    for (unsigned i = 0; i < c->d.n_invited; i++)
        json_array_append_new(invited, json_string(c->d.invited[i]));
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:I,s:I,s:s,s:i}", "id", c->d.id, "kind",
                          cr_class_kind_name(c->d.kind), "title", c->d.title, "school", c->d.school, "teacher",
                          c->d.teacher, "classrooms", invited, "state", cr_class_state_name(c->d.state), "stage",
                          c->stage ? json_string(c->stage->id) : json_null(), "start", (json_int_t)c->d.start, "end",
                          (json_int_t)c->d.end, "origin", cr_class_origin_name(c->d.origin), "participants",
                          (int)c->n_participants);
    if (with_participants) {
        json_t *a = json_array();
        cr_list_t *it, *tmp;
        cr_list_foreach_safe(it, tmp, &c->participants)
        {
            json_array_append_new(a, cr__participant_json(cr_container_of(it, cr__participant_t, link)));
        }
        json_object_set_new(j, "participant_list", a);
    }
    return j;
}

void cr__listener_send(cr__listener_t *l, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text != NULL)
        l->send(l, text, strlen(text));
    free(text);
}

void cr__class_broadcast(cr__class_t *cls, json_t *msg)
{
    if (msg == NULL)
        return;
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    cr_list_t *it, *tmp, *lit, *ltmp;
    cr_list_foreach_safe(it, tmp, &cls->participants)
    {
        cr__participant_t *p = cr_container_of(it, cr__participant_t, link);
        cr_list_foreach_safe(lit, ltmp, &p->listeners)
        {
            cr__listener_t *l = cr_container_of(lit, cr__listener_t, link);
            l->send(l, text, len);
        }
    }
    free(text);
}

void cr__participant_changed(cr_relay_t *r, cr__participant_t *p)
{
    (void)r;
    json_t *ev = json_pack("{s:s,s:o}", "type", "participant_updated", "participant", cr__participant_json(p));
    cr__class_broadcast(p->cls, ev);
    json_decref(ev);
}

/* --- sources --- */

/* The source resource a subscriber should receive: "" = the class's main publisher. */
static const char *wanted_source(cr__class_t *c, const cr__session_t *s)
{
    switch (s->view) {
    case CR__VIEW_MAIN:
        return "";
    case CR__VIEW_STAGE:
        return c->stage != NULL && c->stage->pub != NULL ? c->stage->pub->resource_id : "";
    case CR__VIEW_SOURCE: {
        cr__participant_t *p = cr__participant_find(c, s->source);
        if (p == NULL || p->pub == NULL)
            return CR__NO_SOURCE;
        return p->pub->is_main ? "" : p->pub->resource_id;
    }
    }
    return "";
}

void cr__session_bind(cr_relay_t *r, cr__class_t *cls, cr__session_t *s)
{
    const char *want = wanted_source(cls, s);
    if (strcmp(want, s->bound) == 0)
        return;
    snprintf(s->bound, sizeof(s->bound), "%s", want);
    cr_worker_set_source(r->workers[cls->worker], s->resource_id, want[0] ? want : NULL);
}

void cr__class_rebind(cr_relay_t *r, cr__class_t *cls)
{
    cr_list_t *it, *tmp, *sit, *stmp;
    cr_list_foreach_safe(it, tmp, &cls->participants)
    {
        cr__participant_t *p = cr_container_of(it, cr__participant_t, link);
        cr_list_foreach_safe(sit, stmp, &p->sessions)
        {
            cr__session_t *s = cr_container_of(sit, cr__session_t, plink);
            if (s->role == CR_PEER_SUBSCRIBER)
                cr__session_bind(r, cls, s);
        }
    }
}

/* --- stage and state --- */

void cr__class_set_stage(cr_relay_t *r, cr__class_t *c, cr__participant_t *p, const char *by)
{
    cr__participant_t *old = c->stage;
    if (old == p)
        return;
    c->stage = p;
    json_t *ev = json_pack("{s:s,s:o,s:s}", "type", "stage", "participant", p ? json_string(p->id) : json_null(), "by",
                           by);
    cr__class_broadcast(c, ev);
    json_decref(ev);
    cr__class_rebind(r, c);
    if (p != NULL)
        cr__participant_changed(r, p);
    if (old != NULL) {
        old->hold++;
        /* Off stage in a master class: the right to publish ends with the question. */
        if (old->pub != NULL && cr_class_rule(c->d.kind, old->role, CR_ACT_PUBLISH) == CR_RULE_IF_ON_STAGE)
            cr__relay_session_close(r, old->pub);
        if (c->d.kind == CR_KIND_MASTER)
            old->hand = 0;
        cr__participant_changed(r, old);
        old->hold--;
        cr__participant_gc(r, old, "left");
    }
}

int cr__class_start(cr_relay_t *r, cr__class_t *c, const char *reason)
{
    (void)r;
    if (cr_class_start(&c->d) != 0)
        return CR_API_BAD_STATE;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "class_state", "class", c->d.id, "state", "live", "reason",
                           reason);
    cr__class_broadcast(c, ev);
    json_decref(ev);
    cr_log(CR_LOG_INFO, "relay", "class '%s' is live (%s)", c->d.id, reason);
    return 0;
}

/* After the state became ended: close every session, clear stage and hands, tell everyone. */
static void class_ended(cr_relay_t *r, cr__class_t *c, const char *reason)
{
    cr_list_t *it, *tmp, *sit, *stmp;
    c->hold++;
    c->stage = NULL;
    cr_list_foreach_safe(it, tmp, &c->participants)
    {
        cr__participant_t *p = cr_container_of(it, cr__participant_t, link);
        p->hand = 0;
        p->hold++;
        cr_list_foreach_safe(sit, stmp, &p->sessions)
        {
            cr__relay_session_close(r, cr_container_of(sit, cr__session_t, plink));
        }
        p->hold--;
    }
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "class_state", "class", c->d.id, "state", "ended", "reason",
                           reason);
    cr__class_broadcast(c, ev);
    json_decref(ev);
    cr_list_foreach_safe(it, tmp, &c->participants)
    {
        cr__participant_gc(r, cr_container_of(it, cr__participant_t, link), "class_ended");
    }
    cr_log(CR_LOG_INFO, "relay", "class '%s' ended (%s)", c->d.id, reason);
    c->hold--;
    cr__class_gc(r, c);
}

int cr__class_end(cr_relay_t *r, cr__class_t *c, const char *reason)
{
    if (cr_class_end(&c->d) != 0)
        return CR_API_BAD_STATE;
    class_ended(r, c, reason);
    return 0;
}

void cr__class_tick(cr_relay_t *r, int64_t now)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr__class_t *c = cr_container_of(it, cr__class_t, link);
        if (cr_class_tick(&c->d, now))
            class_ended(r, c, "timetable");
    }
}

void cr__participant_kick(cr_relay_t *r, cr__participant_t *p, int code, const char *by, unsigned *n_sessions,
                          unsigned *n_listeners)
{
    cr_list_t *it, *tmp;
    *n_sessions = p->n_sessions;
    *n_listeners = p->n_listeners;
    p->hold++;
    cr_list_foreach_safe(it, tmp, &p->listeners)
    {
        cr__listener_t *l = cr_container_of(it, cr__listener_t, link);
        cr_list_unlink(it);
        p->n_listeners--;
        l->p = NULL;
        json_t *msg = json_pack("{s:s,s:s}", "type", "kicked", "by", by);
        cr__listener_send(l, msg);
        json_decref(msg);
        l->close(l, code, cr_api_err_text(code));
    }
    cr_list_foreach_safe(it, tmp, &p->sessions)
    {
        cr__relay_session_close(r, cr_container_of(it, cr__session_t, plink));
    }
    p->hold--;
    cr__participant_gc(r, p, "kicked");
}
