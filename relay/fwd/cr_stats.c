/*
 * Per-peer and per-link figures for the control thread (admin API, metrics, the scheduler's view):
 * rebuilt by the worker once a second into snapshots that readers copy under a mutex. Off the packet
 * path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_worker_int.h"

/* The rid of a layer of the subscriber's source ("" without simulcast). */
static void rid_of(const cr_peer_t *p, int layer, char *out, size_t cap)
{
    for (unsigned k = 0; p->source != NULL && layer >= 0 && k < p->source->n_pub; k++)
        if (p->source->pub[k].kind == CR_SDP_VIDEO && p->source->pub[k].layer == layer)
            snprintf(out, cap, "%s", p->source->pub[k].rid);
}

/* The scheduler's view of a subscriber: its links, its target layer, what it was given and why. */
static void fill_sched(const struct cr_worker *w, const cr_peer_t *p, cr_peer_stats_t *o)
{
    const cr__wsched_t *s = &w->sch;
    if (!s->ready || p->sched_room == CR_SCHED_NONE) {
        if (p->role == CR_PEER_SUBSCRIBER) /* (docs/CONFIG.md, "The topology") */
            snprintf(o->why, sizeof(o->why), "not scheduled: school not configured");
        return;
    }
    cr_topo_t *t = (cr_topo_t *)&s->topo;
    const cr_room_t *room = cr_topo_room(t, p->sched_room);
    snprintf(o->classroom, sizeof(o->classroom), "%s", room->name);
    snprintf(o->school, sizeof(o->school), "%s", cr_topo_school(t, room->school)->name);
    for (unsigned i = 0; i < p->n_sub; i++) {
        if (p->sched_sub[i] == CR_SCHED_NONE)
            continue;
        const cr_sub_t *cs = cr_topo_sub(t, p->sched_sub[i]);
        if (cs->layer >= 0 && cs->layer < cs->n_layers)
            o->alloc_bps += cs->layer_bps[cs->layer];
        if (p->sub[i].kind != CR_SDP_VIDEO)
            continue;
        cr_alloc_describe(t, p->sched_sub[i], o->why, sizeof(o->why));
        o->video_off = p->sub[i].target_layer < 0;
        rid_of(p, p->sub[i].target_layer, o->target_layer, sizeof(o->target_layer));
    }
}

static void fill(const struct cr_worker *w, const cr_peer_t *p, cr_peer_stats_t *o)
{
    memset(o, 0, sizeof(*o));
    memcpy(o->resource_id, p->resource_id, sizeof(o->resource_id));
    memcpy(o->class_id, p->class_id, sizeof(o->class_id));
    o->role = p->role;
    o->state = p->state;
    o->packets_in = p->packets_in;
    o->bytes_in = p->bytes_in;
    o->packets_out = p->packets_out;
    o->bytes_out = p->bytes_out;
    o->bps_in = p->bps_in;
    o->bps_out = p->bps_out;
    o->remb_bps = p->remb_bps;
    o->nacks_in = p->nacks_in;
    o->retransmits = p->retransmits;
    o->kf_requests_in = p->kf_requests_in;
    o->twcc = p->twcc.hist != NULL;
    o->twcc_feedback = p->twcc.fb_in;
    o->twcc_reported = p->twcc.reported;
    o->twcc_lost = p->twcc.lost;
    if (p->role == CR_PEER_SUBSCRIBER) {
        for (unsigned i = 0; i < p->n_sub; i++) {
            const cr_sub_stream_t *ss = &p->sub[i];
            double loss = ss->fraction_lost / 256.0, jit = ss->clock_rate ? ss->jitter * 1000.0 / ss->clock_rate : 0;
            if (loss > o->loss)
                o->loss = loss;
            if (jit > o->jitter_ms)
                o->jitter_ms = jit;
            if (ss->rtt_us != 0)
                o->rtt_ms = ss->rtt_us / 1000.0;
            if (ss->kind == CR_SDP_VIDEO && p->source != NULL && ss->cur_layer >= 0)
                for (unsigned k = 0; k < p->source->n_pub; k++)
                    if (p->source->pub[k].kind == CR_SDP_VIDEO && p->source->pub[k].layer == ss->cur_layer)
                        memcpy(o->layer, p->source->pub[k].rid, sizeof(o->layer));
        }
        fill_sched(w, p, o);
    } else {
        for (unsigned i = 0; i < p->n_pub; i++) {
            const cr_pub_stream_t *s = &p->pub[i];
            if (!s->seq_started)
                continue;
            uint32_t expected = s->cycles + s->max_seq - s->base_seq + 1;
            double loss = expected > s->received ? (double)(expected - s->received) / expected : 0;
            double jit = s->clock_rate ? (s->jitter_q4 >> 4) * 1000.0 / s->clock_rate : 0;
            if (loss > o->loss)
                o->loss = loss;
            if (jit > o->jitter_ms)
                o->jitter_ms = jit;
        }
        for (unsigned i = 0; i < p->n_pub; i++) {
            memcpy(o->streams[i].rid, p->pub[i].rid, sizeof(o->streams[i].rid));
            o->streams[i].video = p->pub[i].kind == CR_SDP_VIDEO;
            o->streams[i].bps = p->pub[i].rate_bps;
        }
        o->n_streams = p->n_pub;
    }
}

static void fill_link(const cr_link_t *l, cr_link_stats_t *o)
{
    o->capacity_bps = l->capacity_bps;
    o->target = l->target;
    o->estimate_bps = l->estimate_bps;
    o->budget_bps = l->budget_bps;
    o->alloc_bps = l->alloc_bps;
    o->sent_packets = l->sent_packets;
    o->sent_bytes = l->sent_bytes;
    o->dropped = l->dropped;
}

/* The actual rate toward a link over the last second, from the pacer's byte count. */
static uint64_t link_rate(cr__room_fb_t *fb, uint64_t bytes, uint64_t now)
{
    uint64_t el = now - fb->rate_us0;
    if (fb->rate_us0 != 0 && el >= 500000u) {
        fb->sent_bps = (bytes - fb->rate_bytes0) * 8u * 1000000u / el;
        fb->rate_us0 = 0;
    }
    if (fb->rate_us0 == 0) {
        fb->rate_us0 = now;
        fb->rate_bytes0 = bytes;
    }
    return fb->sent_bps;
}

/* Rebuilds the link snapshot (w->link_snap, under snap_lock): schools, each followed by its classrooms. */
static size_t fill_links(struct cr_worker *w, cr_link_stats_t *out, size_t cap)
{
    cr__wsched_t *s = &w->sch;
    cr_topo_t *t = &s->topo;
    size_t n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t at = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (uint32_t k = 0; k < t->n_schools && n < cap; k++) {
        cr_school_t *sc = cr_topo_school(t, k);
        cr_link_stats_t *o = &out[n++];
        memset(o, 0, sizeof(*o));
        snprintf(o->school, sizeof(o->school), "%s", sc->name);
        o->configured = s->school_configured[k];
        fill_link(&sc->link, o);
        o->at_unix_ms = at;
        o->degraded = sc->est.dropped;
        uint64_t sent = 0;
        for (uint16_t j = 0; j < sc->n_rooms && n < cap; j++) {
            uint32_t r = sc->rooms[j];
            cr_room_t *room = cr_topo_room(t, r);
            cr_link_stats_t *q = &out[n++];
            memset(q, 0, sizeof(*q));
            snprintf(q->school, sizeof(q->school), "%s", sc->name);
            snprintf(q->classroom, sizeof(q->classroom), "%s", room->name);
            q->configured = s->configured[r];
            fill_link(&room->link, q);
            q->at_unix_ms = at;
            q->floor_bps = room->floor_bps;
            q->sent_bps = link_rate(&s->fb[r], room->link.sent_bytes, w->now_us);
            q->queued = s->pacer.items != NULL ? cr_pacer_queued(&s->pacer, r) : 0;
            q->loss = s->fb[r].loss;
            q->delay_bps = room->est.delay_bps > 0 ? (uint64_t)room->est.delay_bps : 0;
            q->twcc = s->fb[r].twcc_us != 0 && w->now_us - s->fb[r].twcc_us < CR_TWCC_FRESH_US;
            q->rtt_us = room->est.rtt_us;
            q->subscriptions = room->n_subs;
            q->kind = room->kind;
            q->degraded = cr_est_degraded(&room->est, w->now_us);
            snprintf(q->limit, sizeof(q->limit), "%s",
                     room->limit == CR_LIMIT_ROOM ? "classroom" : room->limit == CR_LIMIT_SCHOOL ? "school" : "");
            o->subscriptions += room->n_subs;
            sent += q->sent_bps;
        }
        o->sent_bps = sent;
    }
    return n;
}

void cr__stats_publish_links(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready)
        return;
    size_t need = s->topo.n_schools + s->topo.n_rooms;
    pthread_mutex_lock(&w->snap_lock);
    if (need > w->cap_link_snap) {
        cr_link_stats_t *ns = realloc(w->link_snap, need * sizeof(*ns));
        if (ns == NULL) {
            pthread_mutex_unlock(&w->snap_lock);
            return;
        }
        w->link_snap = ns;
        w->cap_link_snap = need;
    }
    w->n_link_snap = fill_links(w, w->link_snap, w->cap_link_snap);
    pthread_mutex_unlock(&w->snap_lock);
}

size_t cr_worker_link_stats(cr_worker_t *w, cr_link_stats_t *out, size_t max)
{
    pthread_mutex_lock(&w->snap_lock);
    size_t n = w->n_link_snap, k = n < max ? n : max;
    if (k > 0)
        memcpy(out, w->link_snap, k * sizeof(*out));
    pthread_mutex_unlock(&w->snap_lock);
    return n;
}

void cr__stats_publish(struct cr_worker *w)
{
    size_t n = 0;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        p->bps_in = (p->bytes_in - p->rate_bytes_in) * 8;
        p->bps_out = (p->bytes_out - p->rate_bytes_out) * 8;
        p->rate_bytes_in = p->bytes_in;
        p->rate_bytes_out = p->bytes_out;
        n++;
    }
    pthread_mutex_lock(&w->snap_lock);
    if (n > w->cap_snap) {
        size_t cap = n + n / 2 + 16;
        cr_peer_stats_t *ns = realloc(w->snap, cap * sizeof(*ns));
        if (ns == NULL) {
            pthread_mutex_unlock(&w->snap_lock);
            return; /* keep the previous snapshot */
        }
        w->snap = ns;
        w->cap_snap = cap;
    }
    size_t i = 0;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        fill(w, cr_container_of(it, cr_peer_t, worker_link), &w->snap[i++]);
    }
    w->n_snap = i;
    pthread_mutex_unlock(&w->snap_lock);
}

size_t cr_worker_peer_stats(cr_worker_t *w, cr_peer_stats_t *out, size_t max)
{
    pthread_mutex_lock(&w->snap_lock);
    size_t n = w->n_snap, k = n < max ? n : max;
    if (k > 0) /* (memcpy of nothing may still not take NULL) */
        memcpy(out, w->snap, k * sizeof(*out));
    pthread_mutex_unlock(&w->snap_lock);
    return n;
}
