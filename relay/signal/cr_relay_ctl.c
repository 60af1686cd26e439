/*
 * Class control requests from the WebSocket signaling: join, stage, mute, hands, start/end, layer.
 * Each checks the rules table (relay/classes) for the participant's role and the class's kind before
 * it changes anything, and announces every change to the class.
 */
#include <stdio.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_err.h"
#include "cr_relay_int.h"

/* A refusal by the rules table, with the action and kind in the message. */
static int deny(const cr__participant_t *p, enum cr_action a, char *detail, size_t cap)
{
    snprintf(detail, cap, "%s may not %s in a %s class", cr_role_name(p->role), cr_action_name(a),
             cr_class_kind_name(p->cls->d.kind));
    return CR_API_FORBIDDEN;
}

static int allowed(const cr__participant_t *p, enum cr_action a)
{
    return cr_class_allowed(&p->cls->d, p->role, a, p->cls->stage == p, p->hand) == CR_CLASS_OK;
}

static cr__participant_t *target_of(cr__participant_t *p, const char *id, int *code, char *detail, size_t cap)
{
    cr__participant_t *t = id != NULL ? cr__participant_find(p->cls, id) : NULL;
    if (t == NULL) {
        snprintf(detail, cap, "'%s' is not in class '%s'", id ? id : "", p->cls->d.id);
        *code = CR_API_NO_PARTICIPANT;
    }
    return t;
}

/* --- join --- */

static int join_class(cr_relay_t *r, const cr_claims_t *c, const char *class_id, const char *kind, const char *title,
                      cr__class_t **out, char *detail, size_t cap)
{
    enum cr_class_kind k = CR_KIND_SYNCHRONOUS;
    if (kind != NULL && cr_class_kind_parse(kind, strlen(kind), &k) != 0) {
        snprintf(detail, cap, "kind: synchronous, dedicated, master or network");
        return CR_API_BAD_REQUEST;
    }
    if (!cr_auth_class_ok(c, class_id))
        return CR_API_WRONG_CLASS;
    *out = cr__class_find(r, class_id);
    if (*out != NULL)
        return 0;
    if (c->role != CR_ROLE_TEACHER) {
        snprintf(detail, cap, "'%s'", class_id);
        return CR_API_NO_CLASS;
    }
    cr_class_desc_t d;
    if (cr_class_desc_init(&d, class_id, k, CR_ORIGIN_ADHOC) != 0)
        return CR_API_BAD_CLASS_ID;
    if (title != NULL && title[0] != '\0')
        snprintf(d.title, sizeof(d.title), "%s", title);
    snprintf(d.school, sizeof(d.school), "%s", c->school);
    snprintf(d.teacher, sizeof(d.teacher), "%s", c->sub);
    *out = cr__class_add(r, &d);
    if (*out == NULL) {
        snprintf(detail, cap, "max_classes reached");
        return CR_API_RELAY_FULL;
    }
    return 0;
}

json_t *cr__ctl_participants(cr__participant_t *p)
{
    json_t *a = json_array();
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &p->cls->participants)
    {
        json_array_append_new(a, cr__participant_json(cr_container_of(it, cr__participant_t, link)));
    }
    return a;
}

int cr__ctl_join(cr_relay_t *r, cr__listener_t *l, const char *class_id, const char *tok, size_t tok_len,
                 const char *kind, const char *title, json_t **joined, char *detail, size_t cap)
{
    cr_claims_t c;
    cr__class_t *cls = NULL;
    if (!cr_class_id_valid(class_id, strlen(class_id)))
        return CR_API_BAD_CLASS_ID;
    int code = cr__relay_verify(r, tok, tok_len, &c);
    if (code != 0)
        return code;
    if ((code = join_class(r, &c, class_id, kind, title, &cls, detail, cap)) != 0)
        return code;
    if ((code = cr__class_admit(cls, &c, detail, cap)) != 0) {
        cr__class_gc(r, cls);
        return code;
    }
    cr__participant_t *p = cr__participant_get(r, cls, &c, &code);
    if (p == NULL) {
        cr__class_gc(r, cls);
        return code;
    }
    if ((code = cr__listener_attach(p, l)) != 0) {
        cr__participant_gc(r, p, "left");
        return code;
    }
    *joined = json_pack("{s:s,s:o,s:o,s:o}", "type", "joined", "class", cr__class_json(cls, 0), "you",
                        cr__participant_json(p), "participants", cr__ctl_participants(p));
    return 0;
}

/* --- stage, hands, mute --- */

int cr__ctl_stage(cr_relay_t *r, cr__participant_t *p, const char *target, char *detail, size_t cap)
{
    int code = 0;
    if (!allowed(p, CR_ACT_STAGE))
        return deny(p, CR_ACT_STAGE, detail, cap);
    cr__participant_t *t = NULL;
    if (target != NULL) {
        if ((t = target_of(p, target, &code, detail, cap)) == NULL)
            return code;
        switch (cr_class_allowed(&p->cls->d, t->role, CR_ACT_BE_ON_STAGE, 0, t->hand)) {
        case CR_CLASS_OK:
            break;
        case CR_CLASS_DENY_NO_HAND:
            snprintf(detail, cap, "in a master class only a raised hand goes on stage (accept_hand)");
            return CR_API_FORBIDDEN;
        default:
            snprintf(detail, cap, "a %s cannot be on stage in a %s class", cr_role_name(t->role),
                     cr_class_kind_name(p->cls->d.kind));
            return CR_API_FORBIDDEN;
        }
    }
    cr__class_set_stage(r, p->cls, t, p->id);
    return 0;
}

int cr__ctl_mute(cr_relay_t *r, cr__participant_t *p, const char *target, int audio, int video, char *detail,
                 size_t cap)
{
    int code = 0;
    if (!allowed(p, CR_ACT_MUTE))
        return deny(p, CR_ACT_MUTE, detail, cap);
    cr__participant_t *t = target_of(p, target, &code, detail, cap);
    if (t == NULL)
        return code;
    if (audio >= 0)
        t->audio_muted = audio;
    if (video >= 0)
        t->video_muted = video;
    if (t->pub != NULL)
        cr_worker_set_muted(r->workers[p->cls->worker], t->pub->resource_id, t->audio_muted, t->video_muted);
    cr__participant_changed(r, t);
    return 0;
}

static void hand_event(cr__participant_t *t, const char *state, const char *by)
{
    json_t *ev = json_pack("{s:s,s:s,s:s}", "type", "hand", "participant", t->id, "state", state);
    if (by != NULL)
        json_object_set_new(ev, "by", json_string(by));
    cr__class_broadcast(t->cls, ev);
    json_decref(ev);
}

int cr__ctl_hand(cr_relay_t *r, cr__participant_t *p, int raise, char *detail, size_t cap)
{
    if (!allowed(p, CR_ACT_RAISE_HAND))
        return deny(p, CR_ACT_RAISE_HAND, detail, cap);
    if (p->hand == raise)
        return 0;
    p->hand = raise;
    hand_event(p, raise ? "raised" : "lowered", NULL);
    cr__participant_changed(r, p);
    return 0;
}

int cr__ctl_accept(cr_relay_t *r, cr__participant_t *p, const char *target, char *detail, size_t cap)
{
    int code = 0;
    if (!allowed(p, CR_ACT_ACCEPT_HAND))
        return deny(p, CR_ACT_ACCEPT_HAND, detail, cap);
    cr__participant_t *t = target_of(p, target, &code, detail, cap);
    if (t == NULL)
        return code;
    if (!t->hand) {
        snprintf(detail, cap, "'%s' has not raised a hand", t->id);
        return CR_API_FORBIDDEN;
    }
    if (cr_class_allowed(&p->cls->d, t->role, CR_ACT_BE_ON_STAGE, 0, 1) != CR_CLASS_OK) {
        snprintf(detail, cap, "a %s cannot be on stage", cr_role_name(t->role));
        return CR_API_FORBIDDEN;
    }
    t->hand = 0; /* answered: on stage now, where (in a master class) it may publish */
    hand_event(t, "accepted", p->id);
    cr__class_set_stage(r, p->cls, t, p->id); /* announces t's change */
    return 0;
}

/* --- class state, layers --- */

int cr__ctl_state(cr_relay_t *r, cr__participant_t *p, int start, char *detail, size_t cap)
{
    if (!allowed(p, CR_ACT_START_END))
        return deny(p, CR_ACT_START_END, detail, cap);
    const char *why = p->role == CR_ROLE_ADMIN ? "admin" : "teacher";
    int code = start ? cr__class_start(r, p->cls, why) : cr__class_end(r, p->cls, why);
    if (code != 0)
        snprintf(detail, cap, "class '%s' is %s", p->cls->d.id, cr_class_state_name(p->cls->d.state));
    return code;
}

static int rid_ok(const char *rid)
{
    size_t len = strlen(rid);
    if (len >= CR_RID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = rid[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int cr__ctl_layer(cr_relay_t *r, cr__participant_t *p, const char *resource, const char *rid, char *detail,
                  size_t cap)
{
    if (!rid_ok(rid)) {
        snprintf(detail, cap, "rid: 1-%d of A-Z a-z 0-9 _ -", CR_RID_MAX - 1);
        return CR_API_BAD_REQUEST;
    }
    cr__session_t *s = cr__relay_session_find(r, resource);
    if (s == NULL || s->role != CR_PEER_SUBSCRIBER)
        return CR_API_NOT_FOUND;
    if (s->owner != p)
        return CR_API_NOT_OWNER;
    cr_worker_set_layer(r->workers[p->cls->worker], s->resource_id, rid[0] ? rid : NULL);
    return 0;
}
