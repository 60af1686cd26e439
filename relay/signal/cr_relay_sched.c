/*
 * The bandwidth scheduler in the control plane (issue 5): admission and visibility. The media workers
 * allocate and pace (relay/fwd/cr_fwd_sched.c); here the relay
 *   - admits the timetable at load against a planning tree of the configured links at their full
 *     capacities: each class reserves, in each invited classroom, audio_kbps plus floor_kbps for the
 *     teacher camera (the one stream every classroom of every kind receives) over its period; an
 *     over-booked class is logged as degraded or refused with the link that did not fit;
 *   - admits each classroom's WHEP join the same way (cr_admit_join), refusing with 5034 and the link
 *     when its floor does not fit, and releases the reservation when the classroom's last WHEP
 *     session of the class ends (ad-hoc and admin classes get an entry on their first join);
 *   - merges the workers' link snapshots for GET /api/status and reports the links' plan to the
 *     operator view (cr_ops_link_plan) once a second.
 * Control thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_admit.h"
#include "cr_api_err.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_ops.h"
#include "cr_relay_int.h"
#include "cr_relay_stats.h"

#define FAR_US (1ull << 62) /* a class without an end */
#define MERGE_MAX 2048      /* links shown in /api/status */

struct cr__sched {
    cr_topo_t topo; /* planning tree: configured links at full capacity, plus links met in joins */
    cr_admit_t admit;
    cr_admit_params_t params;
    cr_admit_class_t *classes; /* CR_ADMIT_MAX_CLASSES */
    unsigned n;
    uint8_t (*by_join)[CR_ADMIT_MAX_ROOMS]; /* per class: the classroom was added by a join */
    uint64_t floor_bps, audio_bps, school_bps, room_bps;
    double target;
    char default_school[CR_SCHED_NAME_MAX + 1];
};

static uint64_t mbps(unsigned m)
{
    return (uint64_t)m * 1000000u;
}

static uint64_t unix_us(void)
{
    return (uint64_t)time(NULL) * 1000000u;
}

/* The planning classroom of a classroom id (its school from config, else the token's, else the
 * default), created as the workers create it. Returns its index or -1 when the tree is full. */
static int plan_room(struct cr__sched *s, const char *room, const char *school)
{
    int r = cr_topo_find_room(&s->topo, room);
    if (r >= 0)
        return r;
    const char *sn = school != NULL && school[0] ? school : s->default_school;
    int sc = cr_topo_find_school(&s->topo, sn);
    if (sc < 0)
        sc = cr_topo_add_school(&s->topo, sn, s->school_bps, s->target, 0);
    if (sc < 0)
        return -1;
    return cr_topo_add_room(&s->topo, (uint32_t)sc, room, s->room_bps, s->target, 0);
}

static void class_init(struct cr__sched *s, cr_admit_class_t *a, const char *id, int kind, uint64_t start,
                       uint64_t end)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->kind = (uint8_t)kind;
    a->start_us = start;
    a->end_us = end > start ? end : FAR_US;
    a->n_streams = 1;
    a->floor_bps[0] = s->floor_bps;
    a->audio_bps = s->audio_bps;
}

/* Adds the configured links to the planning tree. */
static void plan_links(struct cr__sched *s, const cr_conf_t *c)
{
    for (unsigned i = 0; i < c->n_schools; i++) {
        const cr_conf_school_t *sc = &c->schools[i];
        cr_topo_add_school(&s->topo, sc->id, mbps(sc->capacity_mbps ? sc->capacity_mbps : c->school_capacity_mbps),
                           sc->target > 0 ? sc->target : c->target, 0);
    }
    for (unsigned i = 0; i < c->n_classrooms; i++) {
        const cr_conf_classroom_t *cr = &c->classrooms[i];
        int sc = cr_topo_find_school(&s->topo, cr->school[0] ? cr->school : c->default_school);
        if (sc < 0)
            sc = cr_topo_add_school(&s->topo, c->default_school, s->school_bps, s->target, 0);
        if (sc >= 0)
            cr_topo_add_room(&s->topo, (uint32_t)sc, cr->id,
                             mbps(cr->capacity_mbps ? cr->capacity_mbps : c->classroom_capacity_mbps),
                             cr->target > 0 ? cr->target : c->target, 0);
    }
}

/* The timetable's classes with their invited classrooms. */
static void plan_timetable(struct cr__sched *s, const cr_conf_t *c)
{
    for (unsigned i = 0; i < c->n_classes && s->n < CR_ADMIT_MAX_CLASSES; i++) {
        const cr_conf_class_t *cc = &c->classes[i];
        cr_admit_class_t *a = &s->classes[s->n++];
        class_init(s, a, cc->id, cc->kind, (uint64_t)cc->start * 1000000u, (uint64_t)cc->end * 1000000u);
        const char *p = cc->classrooms;
        while (*p != '\0' && a->n_rooms < CR_ADMIT_MAX_ROOMS) {
            size_t n = strcspn(p, ",");
            char id[CR_SCHED_NAME_MAX + 1];
            const char *b = p, *e = p + n;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            snprintf(id, sizeof(id), "%.*s", (int)(e - b), b);
            int r = id[0] ? plan_room(s, id, NULL) : -1;
            if (r >= 0)
                a->rooms[a->n_rooms++] = (uint32_t)r;
            p += n + (p[n] == ',');
        }
    }
}

/* What a stream of bps costs on the wire, as the workers measure layers (CR_WIRE_OVERHEAD and the
 * 12-byte RTP header per packet): audio in 20 ms packets, video in packets of about 1,100 bytes. */
static uint64_t wire_bps(uint64_t bps, int audio)
{
    uint64_t pps = audio ? 50u : bps / (1100u * 8u) + 1u;
    return bps + pps * (12u + CR_WIRE_OVERHEAD) * 8u;
}

int cr__sched_load(cr_relay_t *r, char *err, size_t err_cap)
{
    const cr_conf_t *c = &r->conf;
    struct cr__sched *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CR_ENOMEM;
    r->sched = s;
    s->floor_bps = wire_bps((uint64_t)c->floor_kbps * 1000u, 0);
    s->audio_bps = wire_bps((uint64_t)c->audio_kbps * 1000u, 1);
    s->school_bps = mbps(c->school_capacity_mbps);
    s->room_bps = mbps(c->classroom_capacity_mbps);
    s->target = c->target;
    snprintf(s->default_school, sizeof(s->default_school), "%s", c->default_school);
    cr_admit_params_default(&s->params);
    s->classes = calloc(CR_ADMIT_MAX_CLASSES, sizeof(*s->classes));
    s->by_join = calloc(CR_ADMIT_MAX_CLASSES, sizeof(*s->by_join));
    if (s->classes == NULL || s->by_join == NULL || cr_topo_init(&s->topo, NULL, NULL) != 0 ||
        cr_admit_init(&s->admit, &s->topo) != 0) {
        snprintf(err, err_cap, "scheduler: out of memory");
        return CR_ENOMEM;
    }
    plan_links(s, c);
    plan_timetable(s, c);
    int rc = cr_admit_timetable(&s->admit, s->classes, s->n, &s->params);
    if (rc < 0) {
        snprintf(err, err_cap, "timetable admission: %s", cr_strerror(rc));
        return rc;
    }
    for (unsigned i = 0; i < s->n; i++) {
        const cr_admit_class_t *a = &s->classes[i];
        if (a->status == CR_ADMIT_REFUSED)
            cr_log(CR_LOG_ERROR, "sched", "class '%s' %s", a->id, a->reason); /* "refused: <link>: ..." */
        else if (a->status == CR_ADMIT_DEGRADED)
            cr_log(CR_LOG_WARN, "sched", "class '%s' %s", a->id, a->reason);
        else if (a->n_rooms > 0)
            cr_log(CR_LOG_INFO, "sched", "class '%s' admitted: %u classrooms", a->id, (unsigned)a->n_rooms);
    }
    return 0;
}

void cr__sched_free(cr_relay_t *r)
{
    struct cr__sched *s = r->sched;
    if (s == NULL)
        return;
    cr_admit_dispose(&s->admit);
    cr_topo_dispose(&s->topo);
    free(s->classes);
    free(s->by_join);
    free(s);
    r->sched = NULL;
}

static int class_index(struct cr__sched *s, const char *id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->classes[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* The admission entry of a class; an ad-hoc or admin class gets one (from now to its end). */
static int class_entry(struct cr__sched *s, const cr__class_t *c)
{
    int i = class_index(s, c->d.id);
    if (i >= 0 || s->n >= CR_ADMIT_MAX_CLASSES)
        return i;
    cr_admit_class_t *a = &s->classes[s->n];
    uint64_t now = unix_us();
    class_init(s, a, c->d.id, (int)c->d.kind, now, c->d.end > 0 ? (uint64_t)c->d.end * 1000000u : FAR_US);
    if (cr_admit_class(&s->admit, s->classes, s->n, a, &s->params) < 0)
        return -1;
    memset(s->by_join[s->n], 0, sizeof(s->by_join[s->n]));
    return (int)s->n++;
}

int cr__sched_admit_join(cr_relay_t *r, const cr__class_t *c, const cr_claims_t *cl, char *detail, size_t cap)
{
    struct cr__sched *s = r->sched;
    if (s == NULL || cl->role != CR_ROLE_CLASSROOM)
        return 0;
    /* A classroom of an unconfigured school is not scheduled by the workers either: no check. */
    if (cr_topo_find_room(&s->topo, cl->sub) < 0 &&
        cr_topo_find_school(&s->topo, cl->school[0] ? cl->school : s->default_school) < 0)
        return 0;
    int idx = class_entry(s, c);
    int room = plan_room(s, cl->sub, cl->school);
    if (idx < 0 || room < 0)
        return 0; /* beyond the planner's limits: not checked (the workers still allocate) */
    cr_admit_class_t *a = &s->classes[idx];
    for (unsigned k = 0; k < a->n_rooms; k++) {
        if (a->rooms[k] != (uint32_t)room)
            continue;
        if (a->room_status[k] != CR_ADMIT_ROOM_REFUSED)
            return 0;
        snprintf(detail, cap, "%s", a->reason);
        return CR_API_LINK_FULL;
    }
    char why[CR_ADMIT_REASON_MAX];
    int st = cr_admit_join(&s->admit, s->classes, s->n, (unsigned)idx, (uint32_t)room, unix_us(), &s->params, why,
                           sizeof(why));
    if (st == CR_ADMIT_REFUSED) {
        snprintf(detail, cap, "%s", why);
        return CR_API_LINK_FULL;
    }
    if (st >= 0 && a->n_rooms > 0 && a->rooms[a->n_rooms - 1] == (uint32_t)room)
        s->by_join[idx][a->n_rooms - 1] = 1;
    return 0;
}

void cr__sched_leave(cr_relay_t *r, const cr__class_t *c, const cr__participant_t *p)
{
    struct cr__sched *s = r->sched;
    if (s == NULL || p->role != CR_ROLE_CLASSROOM)
        return;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &p->sessions)
    {
        if (cr_container_of(it, cr__session_t, plink)->role == CR_PEER_SUBSCRIBER)
            return; /* it still watches */
    }
    int idx = class_index(s, c->d.id), room = cr_topo_find_room(&s->topo, p->id);
    if (idx < 0 || room < 0)
        return;
    cr_admit_class_t *a = &s->classes[idx];
    for (unsigned k = 0; k < a->n_rooms; k++) {
        if (a->rooms[k] != (uint32_t)room || !s->by_join[idx][k])
            continue;
        unsigned last = a->n_rooms - 1u; /* the reservation goes: the last entry takes its place */
        a->rooms[k] = a->rooms[last];
        a->room_status[k] = a->room_status[last];
        a->reserved_bps[k] = a->reserved_bps[last];
        s->by_join[idx][k] = s->by_join[idx][last];
        s->by_join[idx][last] = 0;
        a->n_rooms--;
        return;
    }
}

/* --- visibility --- */

/* Merges the workers' snapshots: a school link's figures add up (each worker has a share), a
 * classroom's are those of the worker(s) carrying it. Returns how many links are in out. */
static size_t merge_links(cr_relay_t *r, cr_link_stats_t *out, size_t cap, cr_link_stats_t *buf, size_t buf_cap)
{
    size_t n = 0;
    for (unsigned w = 0; w < r->n_workers; w++) {
        size_t got = cr_worker_link_stats(r->workers[w], buf, buf_cap);
        for (size_t i = 0; i < got && i < buf_cap; i++) {
            const cr_link_stats_t *l = &buf[i];
            int school = l->classroom[0] == '\0';
            if (!l->configured && l->subscriptions == 0 && !school)
                continue;
            size_t k = 0;
            while (k < n && (strcmp(out[k].school, l->school) != 0 || strcmp(out[k].classroom, l->classroom) != 0))
                k++;
            if (k == n) {
                if (n == cap)
                    continue;
                out[n++] = *l;
                continue;
            }
            cr_link_stats_t *m = &out[k];
            if (school) {
                m->capacity_bps += l->capacity_bps;
                m->estimate_bps += l->estimate_bps;
                m->budget_bps += l->budget_bps;
            } else if (l->subscriptions > m->subscriptions) {
                m->estimate_bps = l->estimate_bps;
                m->delay_bps = l->delay_bps;
                m->twcc = l->twcc;
                m->budget_bps = l->budget_bps;
                m->floor_bps = l->floor_bps;
                m->loss = l->loss;
                m->rtt_us = l->rtt_us;
                m->kind = l->kind;
                snprintf(m->limit, sizeof(m->limit), "%s", l->limit);
            }
            m->alloc_bps += l->alloc_bps;
            m->sent_bps += l->sent_bps;
            m->sent_packets += l->sent_packets;
            m->sent_bytes += l->sent_bytes;
            m->dropped += l->dropped;
            m->queued += l->queued;
            m->subscriptions += l->subscriptions;
            m->degraded |= l->degraded;
        }
    }
    /* A school with nothing under it shown, and not configured, is left out. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = out[i].classroom[0] != '\0' || out[i].configured;
        for (size_t j = 0; j < n && !keep; j++)
            keep = out[j].classroom[0] != '\0' && strcmp(out[j].school, out[i].school) == 0;
        if (keep)
            out[kept++] = out[i];
    }
    return kept;
}

static json_t *link_json(const cr_link_stats_t *l)
{
    json_t *j = json_pack("{s:s,s:s,s:b,s:I,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "school", l->school, "classroom",
                          l->classroom, "configured", l->configured, "capacity_bps", (json_int_t)l->capacity_bps,
                          "target", l->target, "estimate_bps", (json_int_t)l->estimate_bps, "budget_bps",
                          (json_int_t)l->budget_bps, "alloc_bps", (json_int_t)l->alloc_bps, "sent_bps",
                          (json_int_t)l->sent_bps, "sent_packets", (json_int_t)l->sent_packets, "dropped",
                          (json_int_t)l->dropped, "subscriptions", (json_int_t)l->subscriptions, "degraded",
                          (json_int_t)l->degraded);
    json_object_set_new(j, "at_ms", json_integer((json_int_t)l->at_unix_ms)); /* when the worker took them */
    if (l->classroom[0] != '\0') {
        json_object_set_new(j, "floor_bps", json_integer((json_int_t)l->floor_bps));
        json_object_set_new(j, "queued", json_integer(l->queued));
        json_object_set_new(j, "loss", json_real(l->loss));
        json_object_set_new(j, "twcc", json_boolean(l->twcc)); /* transport-wide feedback in the last second */
        json_object_set_new(j, "delay_bps", json_integer((json_int_t)l->delay_bps));
        json_object_set_new(j, "rtt_ms", json_real(l->rtt_us / 1000.0));
        json_object_set_new(j, "kind", json_string(cr_sched_kind_name(l->kind)));
        json_object_set_new(j, "limit", json_string(l->limit));
    }
    return j;
}

/* A publisher's streams as the scheduler measures them: {"h": bps, ..., "audio": bps}. */
static json_t *layers_json(const cr_peer_stats_t *st)
{
    json_t *o = json_object();
    for (unsigned k = 0; k < st->n_streams && k < CR_PEER_MAX_PUB; k++)
        json_object_set_new(o, !st->streams[k].video ? "audio" : st->streams[k].rid[0] ? st->streams[k].rid : "video",
                            json_integer(st->streams[k].bps));
    return o;
}

/* Every subscriber's place, layer and why; every publisher's measured layers (into *pubs). */
static json_t *subscribers_json(cr_relay_t *r, json_t *pubs)
{
    size_t cap = r->n_sessions + 16;
    cr_relay_session_snap_t *ss = calloc(cap, sizeof(*ss));
    json_t *a = json_array();
    size_t n = ss != NULL ? cr_relay_session_snaps(r, ss, cap) : 0;
    for (size_t i = 0; i < n && i < cap; i++) {
        const cr_peer_stats_t *st = &ss[i].st;
        if (ss[i].peer_role == CR_PEER_PUBLISHER && ss[i].have_stats)
            json_array_append_new(pubs, json_pack("{s:s,s:s,s:o}", "resource", st->resource_id, "class", st->class_id,
                                                  "layers_bps", layers_json(st)));
        if (ss[i].peer_role != CR_PEER_SUBSCRIBER || !ss[i].have_stats || st->classroom[0] == '\0')
            continue;
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:s,s:I}", "resource", st->resource_id, "class",
                              st->class_id, "school", st->school, "classroom", st->classroom, "layer", st->layer,
                              "target_layer", st->target_layer, "video_off", st->video_off, "alloc_bps",
                              (json_int_t)st->alloc_bps, "why", st->why, "bps_out", (json_int_t)st->bps_out);
        if (st->twcc) /* transport-cc negotiated: its feedback, which the classroom's estimator reads */
            json_object_set_new(j, "twcc", json_pack("{s:I,s:I,s:I}", "feedback", (json_int_t)st->twcc_feedback,
                                                     "reported", (json_int_t)st->twcc_reported, "lost",
                                                     (json_int_t)st->twcc_lost));
        json_array_append_new(a, j);
    }
    free(ss);
    return a;
}

static json_t *admission_json(struct cr__sched *s)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < s->n; i++) {
        const cr_admit_class_t *c = &s->classes[i];
        json_t *rooms = json_array();
        for (unsigned k = 0; k < c->n_rooms; k++) {
            static const char *const names[] = {"refused", "essential", "full"};
            json_array_append_new(rooms, json_pack("{s:s,s:s,s:I}", "classroom", cr_topo_room(&s->topo, c->rooms[k])->name,
                                                   "status", names[c->room_status[k] <= 2 ? c->room_status[k] : 0],
                                                   "reserved_bps", (json_int_t)c->reserved_bps[k]));
        }
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:o}", "class", c->id, "kind", cr_sched_kind_name(c->kind),
                                           "status", cr_admit_status_name(c->status), "reason", c->reason,
                                           "classrooms", rooms));
    }
    return a;
}

json_t *cr__sched_status_json(cr_relay_t *r)
{
    json_t *j = json_object(), *links = json_array();
    cr_link_stats_t *out = calloc(MERGE_MAX, sizeof(*out)), *buf = calloc(MERGE_MAX, sizeof(*buf));
    size_t n = out != NULL && buf != NULL ? merge_links(r, out, MERGE_MAX, buf, MERGE_MAX) : 0;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(links, link_json(&out[i]));
    free(out);
    free(buf);
    json_object_set_new(j, "links", links);
    /* The relay-added latency histograms as they are (log-linear microseconds, cr_worker.c), so that
     * a test bed can take percentiles over a window by differencing two readings. */
    json_t *hists = json_array();
    for (unsigned w = 0; w < r->n_workers; w++) {
        json_t *h = json_array();
        const cr_worker_stats_t *st = cr_worker_stats(r->workers[w]);
        for (unsigned b = 0; b < CR_LAT_BUCKETS; b++)
            json_array_append_new(h, json_integer((json_int_t)atomic_load(&st->latency_hist[b])));
        json_array_append_new(hists, h);
    }
    json_object_set_new(j, "latency_hist", hists);
    json_t *pubs = json_array();
    json_object_set_new(j, "subscribers", subscribers_json(r, pubs));
    json_object_set_new(j, "publishers", pubs);
    if (r->sched != NULL)
        json_object_set_new(j, "admission", admission_json(r->sched));
    return j;
}

void cr__sched_tick(cr_relay_t *r)
{
    cr_link_stats_t *out = calloc(MERGE_MAX, sizeof(*out)), *buf = calloc(MERGE_MAX, sizeof(*buf));
    size_t n = out != NULL && buf != NULL ? merge_links(r, out, MERGE_MAX, buf, MERGE_MAX) : 0;
    for (size_t i = 0; i < n; i++) {
        const cr_link_stats_t *l = &out[i];
        if (l->subscriptions == 0 && !l->configured)
            continue;
        cr_ops_link_plan(r, l->school, l->classroom[0] ? l->classroom : NULL, (double)l->capacity_bps,
                         (double)l->estimate_bps, (double)l->alloc_bps, l->classroom[0] ? (double)l->floor_bps : -1.0);
    }
    free(out);
    free(buf);
}
