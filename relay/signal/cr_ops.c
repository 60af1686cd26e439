/*
 * The operator's view (cr_ops.h): once a second, the sessions' figures are summed per classroom link,
 * school link and class, kept for ten minutes, and checked for alerts. One view per process (the
 * relay that ticks it); control thread only.
 */
#include "cr_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_err.h"
#include "cr_events.h"
#include "cr_ops_int.h"
#include "cr_relay_stats.h"
#include "cr_ws_ops.h"

cr__ops_t cr__ops;

const char *cr_ops_kind_name(enum cr_ops_kind k)
{
    static const char *const names[] = {"school", "classroom", "class"};
    return names[(unsigned)k % 3];
}

/* Resets the view when another relay ticks it (unit tests create several). */
static void ops_bind(cr_relay_t *r)
{
    if (cr__ops.relay == r)
        return;
    for (unsigned i = 0; i < cr__ops.n; i++)
        free(cr__ops.ents[i]);
    free(cr__ops.prev);
    cr__ops_report_reset();
    memset(&cr__ops, 0, sizeof(cr__ops));
    cr__ops.relay = r;
}

cr__ops_ent_t *cr__ops_find(enum cr_ops_kind kind, const char *school, const char *id, int create)
{
    for (unsigned i = 0; i < cr__ops.n; i++) {
        cr_ops_entity_t *e = &cr__ops.ents[i]->e;
        if (e->kind == kind && strcmp(e->id, id) == 0 && (kind == CR_OPS_CLASS || strcmp(e->school, school) == 0))
            return cr__ops.ents[i];
    }
    if (!create || cr__ops.n >= CR_OPS_ENTITIES)
        return NULL;
    cr__ops_ent_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->e.kind = kind;
    snprintf(x->e.school, sizeof(x->e.school), "%s", school);
    snprintf(x->e.id, sizeof(x->e.id), "%s", id);
    x->e.capacity_bps = kind == CR_OPS_SCHOOL ? CR_OPS_SCHOOL_BPS : kind == CR_OPS_CLASSROOM ? CR_OPS_CLASSROOM_BPS : 0;
    x->e.allocated_bps = -1;
    cr__ops.ents[cr__ops.n++] = x;
    return x;
}

static void ent_reset_now(cr__ops_ent_t *x)
{
    cr_ops_entity_t *e = &x->e;
    e->bps = e->up_bps = e->loss = e->rtt_ms = e->jitter_ms = 0;
    e->subscribers = e->publishers = 0;
    e->present = 0;
    e->class_id[0] = '\0';
    x->remb_max = 0;
    x->n_sessions = x->n_silent = 0;
}

static void ent_add_receiver(cr__ops_ent_t *x, const cr_relay_session_snap_t *s)
{
    cr_ops_entity_t *e = &x->e;
    e->present = 1;
    if (!s->have_stats)
        return;
    if (s->peer_role == CR_PEER_SUBSCRIBER) {
        e->bps += (double)s->st.bps_out;
        e->subscribers++;
        if (s->st.loss > e->loss)
            e->loss = s->st.loss;
        if (s->st.rtt_ms > e->rtt_ms)
            e->rtt_ms = s->st.rtt_ms;
        if (s->st.jitter_ms > e->jitter_ms)
            e->jitter_ms = s->st.jitter_ms;
        if ((double)s->st.remb_bps > x->remb_max)
            x->remb_max = (double)s->st.remb_bps;
    } else {
        e->up_bps += (double)s->st.bps_in;
        e->publishers++;
    }
}

/* --- silence: a subscriber that stopped sending RTCP and consent checks was probably killed --- */

static int cmp_res(const void *a, const void *b)
{
    return strcmp(((const cr__ops_prev_t *)a)->resource_id, ((const cr__ops_prev_t *)b)->resource_id);
}

/* Returns 1 if session s has received nothing from its peer for CR_OPS_SILENT_S; updates next[]. */
static int session_silent(const cr_relay_session_snap_t *s, int64_t now, cr__ops_prev_t *next)
{
    cr__ops_prev_t key, *old;
    memcpy(key.resource_id, s->resource_id, sizeof(key.resource_id));
    old = cr__ops.prev ? bsearch(&key, cr__ops.prev, cr__ops.n_prev, sizeof(key), cmp_res) : NULL;
    *next = key;
    next->packets_in = s->st.packets_in;
    next->changed_s = now;
    next->gap_s = 4; /* until learnt: GStreamer reports about every 5 s, browsers every second */
    if (old != NULL) {
        next->gap_s = old->gap_s;
        if (old->packets_in == s->st.packets_in) {
            next->changed_s = old->changed_s;
        } else {
            /* Peers report at their own pace (browsers about every second, GStreamer's RTCP every
             * ~5 s): silence counts only once it is clearly longer than this peer's usual gap. */
            float gap = (float)(now - old->changed_s);
            next->gap_s = gap > old->gap_s ? gap : old->gap_s * 0.6f + gap * 0.4f;
        }
    }
    float limit = next->gap_s * 1.5f + 0.5f;
    if (limit < CR_OPS_SILENT_S)
        limit = CR_OPS_SILENT_S;
    return s->have_stats && s->connected && (float)(now - next->changed_s) >= limit;
}

/* --- the tick --- */

static void aggregate(cr_relay_session_snap_t *ss, size_t n, int64_t now)
{
    cr__ops_prev_t *next = n ? calloc(n, sizeof(*next)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const cr_relay_session_snap_t *s = &ss[i];
        int silent = next != NULL && session_silent(s, now, &next[i]);
        cr__ops_ent_t *cls = cr__ops_find(CR_OPS_CLASS, "", s->class_id, 1);
        if (cls != NULL) {
            cls->e.present = 1;
            if (s->peer_role == CR_PEER_PUBLISHER && s->have_stats) {
                cls->e.bps += (double)s->st.bps_in;
                cls->e.publishers++;
            } else if (s->peer_role == CR_PEER_SUBSCRIBER) {
                cls->e.subscribers++;
                if (s->have_stats && s->st.loss > cls->e.loss)
                    cls->e.loss = s->st.loss;
                if (s->have_stats && s->st.rtt_ms > cls->e.rtt_ms)
                    cls->e.rtt_ms = s->st.rtt_ms;
            }
        }
        if (s->role != CR_ROLE_CLASSROOM)
            continue;
        const char *school = s->school[0] ? s->school : "unknown";
        cr__ops_ent_t *room = cr__ops_find(CR_OPS_CLASSROOM, school, s->participant, 1);
        cr__ops_ent_t *sch = cr__ops_find(CR_OPS_SCHOOL, school, school, 1);
        if (room != NULL) {
            ent_add_receiver(room, s);
            snprintf(room->e.class_id, sizeof(room->e.class_id), "%s", s->class_id);
            room->n_sessions++;
            room->n_silent += silent;
            room->e.last_seen_s = now;
        }
        if (sch != NULL) {
            ent_add_receiver(sch, s);
            sch->e.last_seen_s = now;
        }
    }
    if (next != NULL)
        qsort(next, n, sizeof(*next), cmp_res);
    free(cr__ops.prev);
    cr__ops.prev = next;
    cr__ops.n_prev = next ? n : 0;
}

static void record(cr__ops_ent_t *x, int64_t now)
{
    cr_ops_entity_t *e = &x->e;
    if (e->kind == CR_OPS_CLASSROOM)
        e->silent = x->n_sessions > 0 && x->n_silent == x->n_sessions;
    if (e->kind != CR_OPS_CLASS && x->remb_max > 0 && !x->sched_estimate)
        e->estimate_bps = x->remb_max;
    unsigned k = (unsigned)(now % CR_OPS_HISTORY);
    x->t[k] = now;
    x->bps[k] = (float)(e->silent ? 0 : e->bps);
    x->loss[k] = (float)e->loss;
    x->rtt[k] = (float)e->rtt_ms;
    x->subs[k] = (uint16_t)(e->subscribers > 65535 ? 65535 : e->subscribers);
}

/* Drops entities unseen for the history's length, so the table holds what the last ten minutes had. */
static void expire(int64_t now)
{
    for (unsigned i = 0; i < cr__ops.n;) {
        cr__ops_ent_t *x = cr__ops.ents[i];
        if (!x->e.present && now - x->e.last_seen_s > CR_OPS_HISTORY) {
            free(x);
            cr__ops.ents[i] = cr__ops.ents[--cr__ops.n];
            continue;
        }
        i++;
    }
}

void cr_ops_tick(cr_relay_t *r, int64_t now)
{
    ops_bind(r);
    if (now == cr__ops.last_tick_s)
        return;
    cr__ops.last_tick_s = now;
    size_t cap = cr_relay_conf(r)->max_peers;
    cr_relay_session_snap_t *ss = calloc(cap, sizeof(*ss));
    size_t n = ss ? cr_relay_session_snaps(r, ss, cap) : 0;
    if (n > cap)
        n = cap;
    for (unsigned i = 0; i < cr__ops.n; i++)
        ent_reset_now(cr__ops.ents[i]);
    aggregate(ss, n, now);
    for (unsigned i = 0; i < cr__ops.n; i++) {
        cr__ops_ent_t *x = cr__ops.ents[i];
        if (x->e.present)
            x->e.last_seen_s = now;
        record(x, now);
    }
    cr__ops_alerts(r, now);
    cr__ops_report_tick(r, ss, n, now);
    expire(now);
    free(ss);
    cr__ws_ops_push(r);
}

size_t cr_ops_entities(cr_relay_t *r, const cr_ops_entity_t **out)
{
    ops_bind(r);
    for (unsigned i = 0; i < cr__ops.n; i++)
        cr__ops.view[i] = cr__ops.ents[i]->e;
    *out = cr__ops.view;
    return cr__ops.n;
}

int cr_ops_link_plan(cr_relay_t *r, const char *school, const char *classroom, double capacity_bps,
                     double estimate_bps, double allocated_bps, double floor_bps)
{
    ops_bind(r);
    cr__ops_ent_t *x = classroom ? cr__ops_find(CR_OPS_CLASSROOM, school, classroom, 1)
                                 : cr__ops_find(CR_OPS_SCHOOL, school, school, 1);
    if (x == NULL)
        return CR_ENOTFOUND;
    if (capacity_bps >= 0)
        x->e.capacity_bps = capacity_bps;
    if (estimate_bps >= 0) {
        x->e.estimate_bps = estimate_bps;
        x->sched_estimate = 1;
    }
    if (allocated_bps >= 0)
        x->e.allocated_bps = allocated_bps;
    if (floor_bps >= 0)
        x->e.floor_bps = floor_bps;
    return 0;
}

json_t *cr_ops_history(cr_relay_t *r, enum cr_ops_kind kind, const char *school, const char *id, unsigned seconds)
{
    ops_bind(r);
    cr__ops_ent_t *x = cr__ops_find(kind, school ? school : "", id, 0);
    if (x == NULL)
        return NULL;
    if (seconds > CR_OPS_HISTORY)
        seconds = CR_OPS_HISTORY;
    json_t *t = json_array(), *bps = json_array(), *loss = json_array(), *rtt = json_array();
    int64_t now = cr__ops.last_tick_s;
    for (int64_t s = now - (int64_t)seconds + 1; s <= now; s++) {
        unsigned k = (unsigned)(((s % CR_OPS_HISTORY) + CR_OPS_HISTORY) % CR_OPS_HISTORY);
        if (x->t[k] != s)
            continue;
        json_array_append_new(t, json_integer(s));
        json_array_append_new(bps, json_real(round(x->bps[k])));
        json_array_append_new(loss, json_real(round(x->loss[k] * 10000) / 10000));
        json_array_append_new(rtt, json_real(round(x->rtt[k] * 10) / 10));
    }
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "kind", cr_ops_kind_name(kind), "school", x->e.school, "entity",
                     x->e.id, "t", t, "bps", bps, "loss", loss, "rtt_ms", rtt);
}
