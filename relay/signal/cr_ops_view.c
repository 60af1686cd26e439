/*
 * Alerts and the dashboard's JSON (cr_ops.h). Alerts are event-log events (cr_events.h), so the log
 * file, the dashboard's alert list and /metrics (classrelay_events_total) show the same thing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_events.h"
#include "cr_ops_int.h"

#define CR_OPS_BAD_LOSS 0.05   /* fraction lost that makes a link degraded */
#define CR_OPS_BAD_RTT_MS 400.0
#define CR_OPS_BAD_S 3         /* seconds degraded before the alert */
#define CR_OPS_FLOOR_S 5       /* seconds below the floor before the alert */
#define CR_OPS_JOIN_FAILS 3    /* refused joins within a minute that raise an alert */
#define CR_OPS_ALERTS 50       /* alerts in the dashboard's list */

const char *cr__ops_health(const cr_ops_entity_t *e)
{
    if (e->kind == CR_OPS_CLASSROOM && e->silent)
        return "lost";
    if (!e->present)
        return "idle";
    double util = e->capacity_bps > 0 ? e->bps / e->capacity_bps : 0;
    if (e->loss >= CR_OPS_BAD_LOSS || e->rtt_ms >= CR_OPS_BAD_RTT_MS || util >= 0.95 ||
        (e->floor_bps > 0 && e->bps < e->floor_bps))
        return "bad";
    if (e->loss >= 0.02 || e->rtt_ms >= 200 || util >= 0.8)
        return "warn";
    return "ok";
}

/* Refusals of a join or a session (tokens, admission, capacity): what a classroom that cannot get in sees. */
static uint64_t join_refusals(cr_relay_t *r)
{
    static const int codes[] = {CR_API_NO_TOKEN,   CR_API_BAD_TOKEN, CR_API_EXPIRED,    CR_API_WRONG_CLASS,
                                CR_API_FORBIDDEN,  CR_API_NOT_INVITED, CR_API_NOT_TEACHER, CR_API_NOT_LIVE,
                                CR_API_ENDED,      CR_API_CLASS_FULL, CR_API_RELAY_FULL, CR_API_PARTICIPANTS_FULL};
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        n += cr_relay_refusals(r, codes[i]);
    return n;
}

static void join_failure_alert(cr_relay_t *r, int64_t now)
{
    uint64_t total = join_refusals(r);
    for (uint64_t k = cr__ops.refusals_seen; k < total && k < cr__ops.refusals_seen + 8; k++)
        cr__ops.refusal_times[cr__ops.refusal_head++ % 8] = now;
    cr__ops.refusals_seen = total;
    unsigned recent = 0;
    for (unsigned i = 0; i < 8; i++)
        recent += cr__ops.refusal_times[i] != 0 && now - cr__ops.refusal_times[i] < 60;
    if (recent >= CR_OPS_JOIN_FAILS && now - cr__ops.last_refusal_alert_s >= 60) {
        cr__ops.last_refusal_alert_s = now;
        cr_event(CR_LOG_WARN, "join_failures", "#last_minute", (long long)recent, "#total", (long long)total, NULL);
    }
}

static void link_alerts(cr__ops_ent_t *x)
{
    cr_ops_entity_t *e = &x->e;
    const char *kind = cr_ops_kind_name(e->kind);
    if (e->kind == CR_OPS_CLASSROOM) {
        if (e->silent && !x->was_silent)
            cr_event(CR_LOG_WARN, "classroom_lost", "class", e->class_id, "school", e->school, "classroom", e->id,
                     "reason", "no packets from the classroom (RTCP, consent checks) for longer than usual", NULL);
        else if (!e->present && x->was_present && !x->was_silent)
            cr_event(CR_LOG_INFO, "classroom_left", "school", e->school, "classroom", e->id, NULL);
        x->was_silent = e->silent && e->present;
        x->was_present = e->present;
    }
    int bad = e->present && (e->loss >= CR_OPS_BAD_LOSS || e->rtt_ms >= CR_OPS_BAD_RTT_MS);
    x->bad_s = bad ? x->bad_s + 1 : 0;
    if (x->bad_s >= CR_OPS_BAD_S && !x->alerted_degraded) {
        x->alerted_degraded = 1;
        cr_event(CR_LOG_WARN, "link_degraded", "link", kind, "school", e->school, "id", e->id, "#loss_permille",
                 (long long)llround(e->loss * 1000), "#rtt_ms", (long long)llround(e->rtt_ms), NULL);
    } else if (x->bad_s == 0) {
        x->alerted_degraded = 0;
    }
    int below = e->present && e->floor_bps > 0 && e->bps < e->floor_bps;
    x->below_floor_s = below ? x->below_floor_s + 1 : 0;
    if (x->below_floor_s >= CR_OPS_FLOOR_S && !x->alerted_floor) {
        x->alerted_floor = 1;
        cr_event(CR_LOG_WARN, "below_floor", "link", kind, "school", e->school, "id", e->id, "#bps",
                 (long long)llround(e->bps), "#floor_bps", (long long)llround(e->floor_bps), NULL);
    } else if (x->below_floor_s == 0) {
        x->alerted_floor = 0;
    }
}

void cr__ops_alerts(cr_relay_t *r, int64_t now)
{
    size_t cap = cr_relay_conf(r)->max_classes;
    cr_relay_class_snap_t *cs = calloc(cap, sizeof(*cs));
    size_t n = cs ? cr_relay_class_snaps(r, cs, cap) : 0;
    for (size_t i = 0; i < n && i < cap; i++) {
        cr__ops_ent_t *x = cr__ops_find(CR_OPS_CLASS, "", cs[i].d.id, cs[i].d.state == CR_CLASS_LIVE);
        if (x == NULL)
            continue;
        if (x->was_publishing && !cs[i].teacher_publishing && cs[i].d.state == CR_CLASS_LIVE)
            cr_event(CR_LOG_WARN, "publisher_lost", "class", cs[i].d.id, "teacher", cs[i].d.teacher, NULL);
        x->was_publishing = cs[i].teacher_publishing;
    }
    free(cs);
    for (unsigned i = 0; i < cr__ops.n; i++)
        if (cr__ops.ents[i]->e.kind != CR_OPS_CLASS)
            link_alerts(cr__ops.ents[i]);
    join_failure_alert(r, now);
}

/* --- JSON --- */

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

static json_t *entity_json(const cr_ops_entity_t *e)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:b,s:b,s:s}", "kind",
                          cr_ops_kind_name(e->kind), "school", e->school, "id", e->id, "capacity_bps", e->capacity_bps,
                          "estimate_bps", e->estimate_bps, "bps", round(e->bps), "up_bps", round(e->up_bps), "loss",
                          round_to(e->loss, 0.0001), "rtt_ms", round_to(e->rtt_ms, 0.1), "jitter_ms",
                          round_to(e->jitter_ms, 0.1), "subscribers", (json_int_t)e->subscribers, "publishers",
                          (json_int_t)e->publishers, "present", e->present, "silent", e->silent, "health",
                          cr__ops_health(e));
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "allocated_bps", e->allocated_bps < 0 ? json_null() : json_real(e->allocated_bps));
    json_object_set_new(j, "floor_bps", json_real(e->floor_bps));
    json_object_set_new(j, "util", json_real(e->capacity_bps > 0 ? round_to(e->bps / e->capacity_bps, 0.0001) : 0));
    if (e->kind == CR_OPS_CLASSROOM)
        json_object_set_new(j, "class", json_string(e->class_id));
    return j;
}

static int cmp_entity(const void *a, const void *b)
{
    const cr_ops_entity_t *x = a, *y = b;
    int c = strcmp(x->school, y->school);
    return c != 0 ? c : strcmp(x->id, y->id);
}

static json_t *schools_json(cr_relay_t *r)
{
    const cr_ops_entity_t *all;
    size_t n = cr_ops_entities(r, &all);
    cr_ops_entity_t *v = n ? malloc(n * sizeof(*v)) : NULL;
    json_t *schools = json_array();
    if (v == NULL)
        return schools;
    memcpy(v, all, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_entity);
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != CR_OPS_SCHOOL)
            continue;
        json_t *s = entity_json(&v[i]), *rooms = json_array();
        for (size_t k = 0; k < n; k++)
            if (v[k].kind == CR_OPS_CLASSROOM && strcmp(v[k].school, v[i].school) == 0)
                json_array_append_new(rooms, entity_json(&v[k]));
        json_object_set_new(s, "classrooms", rooms);
        json_array_append_new(schools, s);
    }
    free(v);
    return schools;
}

static json_t *classes_json(cr_relay_t *r)
{
    size_t cap = cr_relay_conf(r)->max_classes;
    cr_relay_class_snap_t *cs = calloc(cap, sizeof(*cs));
    json_t *arr = json_array();
    size_t n = cs ? cr_relay_class_snaps(r, cs, cap) : 0;
    for (size_t i = 0; i < n && i < cap; i++) {
        const cr_class_desc_t *d = &cs[i].d;
        cr__ops_ent_t *x = cr__ops_find(CR_OPS_CLASS, "", d->id, 0);
        json_t *aud = json_array();
        for (unsigned k = 0; k < cr__ops.n; k++) {
            const cr_ops_entity_t *e = &cr__ops.ents[k]->e;
            if (e->kind == CR_OPS_CLASSROOM && e->present && strcmp(e->class_id, d->id) == 0)
                json_array_append_new(aud, json_string(e->id));
        }
        json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:o}", "id", d->id, "kind",
                              cr_class_kind_name(d->kind), "state", cr_class_state_name(d->state), "title", d->title,
                              "school", d->school, "teacher", cs[i].teacher_id[0] ? cs[i].teacher_id : d->teacher,
                              "teacher_publishing", cs[i].teacher_publishing, "publishers",
                              (json_int_t)cs[i].publishers, "subscribers", (json_int_t)cs[i].subscribers,
                              "participants", (json_int_t)cs[i].participants, "start", (json_int_t)d->start, "end",
                              (json_int_t)d->end, "audience", aud);
        if (c == NULL)
            continue;
        json_object_set_new(c, "invited", json_integer(d->n_invited));
        json_object_set_new(c, "bps", json_real(x ? round(x->e.bps) : 0));
        json_object_set_new(c, "loss", json_real(x ? round_to(x->e.loss, 0.0001) : 0));
        json_object_set_new(c, "rtt_ms", json_real(x ? round_to(x->e.rtt_ms, 0.1) : 0));
        json_array_append_new(arr, c);
    }
    free(cs);
    return arr;
}

/* The dashboard's alerts: warnings and errors, and classrooms leaving, newest last. */
static json_t *alerts_json(void)
{
    static cr_event_rec_t recs[CR_EVENTS_RING];
    size_t n = cr_events_recent(0, recs, CR_EVENTS_RING);
    json_t *arr = json_array();
    size_t first = 0, kept = 0;
    for (size_t i = n; i-- > 0 && kept < CR_OPS_ALERTS;)
        if (recs[i].level >= CR_LOG_WARN || strcmp(recs[i].event, "classroom_left") == 0) {
            kept++;
            first = i;
        }
    for (size_t i = first; i < n && kept > 0; i++) {
        if (recs[i].level < CR_LOG_WARN && strcmp(recs[i].event, "classroom_left") != 0)
            continue;
        json_t *line = json_loads(recs[i].line, 0, NULL);
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:o}", "seq", (json_int_t)recs[i].seq, "ts_ms",
                                             (json_int_t)recs[i].ts_ms, "level", cr_events_level_name(recs[i].level),
                                             "event", recs[i].event, "detail", line ? line : json_null()));
    }
    return arr;
}

static json_t *relay_json(cr_relay_t *r)
{
    uint64_t pin = 0, pout = 0, bin = 0, bout = 0, peers = 0;
    for (unsigned i = 0; i < cr_relay_worker_count(r); i++) {
        const cr_worker_stats_t *st = cr_relay_worker_stats(r, i);
        pin += atomic_load(&st->packets_in);
        pout += atomic_load(&st->packets_out);
        bin += atomic_load(&st->bytes_in);
        bout += atomic_load(&st->bytes_out);
        peers += atomic_load(&st->peers);
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "workers", (json_int_t)cr_relay_worker_count(r), "packets_in",
                     (json_int_t)pin, "packets_out", (json_int_t)pout, "bytes_in", (json_int_t)bin, "bytes_out",
                     (json_int_t)bout, "peers", (json_int_t)peers);
}

json_t *cr_ops_snapshot_json(cr_relay_t *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string("ops"));
    json_object_set_new(j, "t", json_integer(cr__ops.last_tick_s));
    json_object_set_new(j, "relay", relay_json(r));
    json_object_set_new(j, "schools", schools_json(r));
    json_object_set_new(j, "classes", classes_json(r));
    json_object_set_new(j, "alerts", alerts_json());
    return j;
}
