/*
 * Per-peer figures for the control thread (admin API, metrics, later the scheduler's view): rebuilt
 * by the worker once a second into a snapshot that readers copy under a mutex. Off the packet path.
 */
#include <stdlib.h>
#include <string.h>

#include "cr_worker_int.h"

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
    }
    (void)w;
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
    size_t n = w->n_snap;
    memcpy(out, w->snap, (n < max ? n : max) * sizeof(*out));
    pthread_mutex_unlock(&w->snap_lock);
    return n;
}
