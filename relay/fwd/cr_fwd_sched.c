/*
 * The bandwidth scheduler inside a media worker (DESIGN.md, "The bandwidth scheduler"). Each worker
 * builds its own tree (relay/sched/cr_topo.h) from the configuration at start: every configured
 * school and classroom link, the default school and its shared "default" classroom; classrooms and
 * schools met only in tokens are added as their subscribers arrive (docs/CONFIG.md, "The topology").
 *
 * A subscriber's streams become subscriptions in its classroom: audio, and video whose role follows
 * what it watches (the class's main publisher is the teacher camera, a stage view the stage, any
 * other publisher another classroom). Every 100 ms the worker measures each publisher layer's bitrate
 * on the wire, turns its classrooms' feedback (NACKs, receiver reports, REMB) into loss reports for
 * their estimators (for classrooms without transport-wide feedback, which feeds the estimator as it
 * comes: cr__sched_on_twcc), and runs the allocator; a join, leave or source change runs it at the end of the
 * same loop turn. A subscriber with no layer of its own choosing then aims at the allocator's layer
 * (cr_fanout.c), switching at that layer's next keyframe; "off" stops its video at once.
 *
 * Control paths only (joins, RTCP, the tick): the per-packet work is in cr_pace.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_worker_int.h"

#define RATE_WINDOW_US 1000000u   /* a layer's bitrate: bytes over this window ... */
#define FIRST_RATE_US 250000u     /* ... or, before its first whole window, over this much */
#define LAYER_IDLE_US 1000000u    /* a layer with no packet for this long is not being sent */
#define REPORT_LAG_US 150000u     /* a loss report judges packets sent at least this (+ RTT) ago ... */
#define REPORT_WINDOW_US 300000u  /* ... over this much send time (more, up to the ring, for ... */
#define REPORT_MIN_PACKETS 30u    /* ... at least this many packets) */
#define NACK_FRESH_US 10000000u   /* receivers that NACKed this recently: loss from NACKs, not RRs */
#define REMB_TTL_US 5000000u
#define REMB_BELOW_PCT 85u        /* a REMB under this share of what is sent to that receiver caps */

static uint64_t mbps(unsigned m)
{
    return (uint64_t)m * 1000000u;
}

/* Adds the configured schools and classrooms (and the default school when configured classrooms use it). */
static void build_links(cr__wsched_t *s, const cr_conf_t *c, uint64_t now)
{
    cr_topo_t *t = &s->topo;
    for (unsigned i = 0; i < c->n_schools; i++) {
        const cr_conf_school_t *sc = &c->schools[i];
        uint64_t cap = mbps(sc->capacity_mbps ? sc->capacity_mbps : c->school_capacity_mbps) / s->share;
        int k = cr_topo_add_school(t, sc->id, cap, sc->target > 0 ? sc->target : c->target, now);
        if (k < 0)
            cr_log(CR_LOG_WARN, "sched", "school '%s' not scheduled: %s", sc->id, cr_strerror(k));
        else
            s->school_configured[k] = 1;
    }
    /* The default school is scheduled only when a [school.ID] section configures it. */
    int d = cr_topo_find_school(t, c->default_school);
    s->default_school = d >= 0 ? (uint32_t)d : CR_SCHED_NONE;
    for (unsigned i = 0; i < c->n_classrooms; i++) {
        const cr_conf_classroom_t *cr = &c->classrooms[i];
        int sc = cr_topo_find_school(t, cr->school[0] ? cr->school : c->default_school);
        if (sc < 0 && (cr->school[0] == '\0' || strcmp(cr->school, c->default_school) == 0)) {
            /* A configured classroom of the default school configures that school (default capacity). */
            sc = cr_topo_add_school(t, c->default_school, s->school_bps, s->target, now);
            if (sc >= 0) {
                s->school_configured[sc] = 1;
                s->default_school = (uint32_t)sc;
            }
        }
        uint64_t cap = mbps(cr->capacity_mbps ? cr->capacity_mbps : c->classroom_capacity_mbps);
        int k = sc < 0 ? CR_EINVAL
                       : cr_topo_add_room(t, (uint32_t)sc, cr->id, cap, cr->target > 0 ? cr->target : c->target, now);
        if (k < 0)
            cr_log(CR_LOG_WARN, "sched", "classroom '%s' not scheduled: %s", cr->id, cr_strerror(k));
        else
            s->configured[k] = 1;
    }
}

static int build(struct cr_worker *w, const cr_conf_t *c)
{
    cr__wsched_t *s = &w->sch;
    s->share = w->opts.n_workers ? w->opts.n_workers : 1;
    s->pacing = c->pacing;
    s->target = c->target;
    s->school_bps = mbps(c->school_capacity_mbps) / s->share;
    s->room_bps = mbps(c->classroom_capacity_mbps);
    s->floor_bps = (uint64_t)c->floor_kbps * 1000u;
    cr_alloc_params_default(&s->alloc);
    /* Upgrades after a downgrade wait 1 s, and a stream steps up at most every 0.5 s (the module's
     * 1.5 s and 1 s): the estimator, not the hold, now finds out whether more fits (transport-cc
     * shows a queue within ~100 ms). A flap still doubles the hold. Bed goal 2, back at 90 % of
     * the link after a cut: 10.9 s -> 5.9-6.9 s, goals 1 and 4 unchanged. */
    s->alloc.up_hold_us = 1000000;
    s->alloc.up_gap_us = 500000;
    for (int k = 0; k < CR_SKIND_COUNT; k++)
        s->alloc.kind_weight[k] = c->weight[k];
    /* Links without transport-wide feedback start at their capacity: only loss can show less. */
    cr_est_params_t ep;
    cr_est_params_default(&ep);
    ep.start_bps = 0;
    /* Faster increases than GCC's (8 %/s, 4 % of the last congestion point a second, 1.5 x what is
     * delivered, the congestion point kept until passed), which count on padding probes to find
     * capacity that came back: the relay does not probe (it has no padding to send), its links
     * have a configured ceiling, and its delay detector stops an overshoot at a queue of ~15 ms.
     * The price, in tests/unit/test_sched_sim.c's model of a link at capacity, is a larger queue
     * as the estimate saws around capacity. */
    ep.mult_inc_per_s = 0.25;
    ep.near_inc_per_s = 0.08;
    ep.lce_ttl_us = 3000000;
    ep.acked_headroom = 2.0;
    cr_topo_limits_t lim;
    cr_topo_limits_default(&lim);
    int err = cr_topo_init(&s->topo, &lim, &ep);
    if (err != 0)
        return err;
    s->fb = calloc(lim.max_rooms, sizeof(*s->fb));
    s->configured = calloc(lim.max_rooms, 1);
    s->school_configured = calloc(lim.max_schools, 1);
    if (s->fb == NULL || s->configured == NULL || s->school_configured == NULL)
        return CR_ENOMEM;
    build_links(s, c, cr_now_us());
    s->ready = 1;
    return 0;
}

int cr__sched_init(struct cr_worker *w)
{
    cr_conf_t *dflt = NULL;
    const cr_conf_t *c = w->opts.conf;
    if (c == NULL) {
        dflt = malloc(sizeof(*dflt));
        if (dflt == NULL)
            return CR_ENOMEM;
        cr_conf_defaults(dflt);
        c = dflt;
    }
    int err = build(w, c);
    free(dflt);
    return err;
}

void cr__sched_dispose(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    cr_topo_dispose(&s->topo);
    free(s->fb);
    free(s->configured);
    free(s->school_configured);
    s->fb = NULL;
    s->configured = s->school_configured = NULL;
    s->ready = 0;
}

/* --- subscribers in the tree --- */

/* The classroom of a subscriber: its configured link; else, under a configured school (its token's
 * school claim, or default_school), a classroom link of its own created for its token's classroom.
 * A subscriber whose school is not configured is not scheduled (CR_SCHED_NONE): nothing is known of
 * its links, so nothing caps or paces it (docs/CONFIG.md, "The topology"). */
static uint32_t place(cr__wsched_t *s, const cr_peer_t *p, uint64_t now)
{
    cr_topo_t *t = &s->topo;
    int r = p->classroom[0] ? cr_topo_find_room(t, p->classroom) : -1;
    if (r >= 0)
        return (uint32_t)r;
    int sc = p->school[0] ? cr_topo_find_school(t, p->school) : (s->default_school == CR_SCHED_NONE ? -1 : (int)s->default_school);
    if (sc < 0 || !s->school_configured[sc] || p->classroom[0] == '\0')
        return CR_SCHED_NONE;
    r = cr_topo_add_room(t, (uint32_t)sc, p->classroom, s->room_bps, s->target, now);
    if (r < 0) {
        cr_log(CR_LOG_WARN, "sched", "classroom '%s' not scheduled: %s", p->classroom, cr_strerror(r));
        return CR_SCHED_NONE;
    }
    return (uint32_t)r;
}

static enum cr_sched_role role_of(const cr_peer_t *p)
{
    if (p->source == NULL || p->cls == NULL || p->source == p->cls->main)
        return CR_SROLE_TEACHER;
    return p->stage_view ? CR_SROLE_STAGE : CR_SROLE_OTHER;
}

void cr__sched_attach(struct cr_worker *w, cr_peer_t *p)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready || p->role != CR_PEER_SUBSCRIBER)
        return;
    cr_topo_t *t = &s->topo;
    uint32_t room = place(s, p, w->now_us);
    p->sched_room = room;
    if (room == CR_SCHED_NONE)
        return;
    cr_topo_room_set_kind(t, room, (enum cr_sched_kind)p->class_kind);
    for (unsigned i = 0; i < p->n_sub; i++) {
        int video = p->sub[i].kind == CR_SDP_VIDEO;
        int k = cr_topo_sub_add(t, room, video ? CR_SMEDIA_VIDEO : CR_SMEDIA_AUDIO, role_of(p),
                                (uint64_t)(uintptr_t)p);
        if (k < 0) {
            cr_log(CR_LOG_WARN, "sched", "subscriber %s in classroom '%s' not scheduled: %s", p->resource_id,
                   cr_topo_room(t, room)->name, cr_strerror(k));
            continue;
        }
        p->sched_sub[i] = (uint32_t)k;
        if (video)
            cr_topo_sub_set_floor(t, (uint32_t)k, s->floor_bps);
    }
    s->dirty = 1;
}

void cr__sched_detach(struct cr_worker *w, cr_peer_t *p)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready)
        return;
    for (unsigned i = 0; i < CR_PEER_MAX_STREAMS; i++) {
        if (p->sched_sub[i] != CR_SCHED_NONE)
            cr_topo_sub_remove(&s->topo, p->sched_sub[i]);
        p->sched_sub[i] = CR_SCHED_NONE;
    }
    /* Its classroom's delay reporter leaves: the next receiver with feedback takes over. */
    if (p->sched_room != CR_SCHED_NONE && s->fb[p->sched_room].twcc_reporter == (uintptr_t)p)
        s->fb[p->sched_room].twcc_reporter = 0;
    s->dirty = 1;
}

/* --- publisher layers: bitrate on the wire and the scheduler's order --- */

static void stream_rate(cr_pub_stream_t *st, uint64_t now)
{
    if (st->rate_start_us == 0) {
        st->rate_start_us = now;
        st->rate_bytes = st->bytes;
        return;
    }
    uint64_t el = now - st->rate_start_us;
    int idle = st->last_pkt_us == 0 || now - st->last_pkt_us >= LAYER_IDLE_US;
    if (idle) {
        st->rate_bps = st->rate_prev_bps = 0;
    } else if (el >= RATE_WINDOW_US || (st->rate_bps == 0 && el >= FIRST_RATE_US)) {
        uint64_t bps = (st->bytes - st->rate_bytes) * 8u * 1000000u / el;
        uint32_t b = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
        if (el < RATE_WINDOW_US) {
            st->rate_bps = b; /* provisional, until the first whole window */
            return;
        }
        st->rate_bps = st->rate_prev_bps ? (uint32_t)(((uint64_t)st->rate_prev_bps + b) / 2) : b;
        st->rate_prev_bps = b;
    } else {
        return;
    }
    st->rate_start_us = now;
    st->rate_bytes = st->bytes;
}

/* Orders the video layers lowest bitrate first: by measured bitrate while all of them are sent,
 * else (at first) in reverse offer order, which browsers and our clients write best first. */
static void order_layers(cr_peer_t *pub)
{
    uint8_t idx[CR_SCHED_MAX_LAYERS];
    unsigned n = 0;
    int all = 1;
    for (unsigned i = 0; i < pub->n_pub && n < CR_SCHED_MAX_LAYERS; i++) {
        if (pub->pub[i].kind != CR_SDP_VIDEO)
            continue;
        idx[n++] = (uint8_t)i;
        all &= pub->pub[i].rate_bps != 0;
    }
    if (n == pub->n_vl && !(all && n > 1))
        return;
    for (unsigned i = 1; i < n; i++) { /* insertion sort, n <= 4 */
        uint8_t x = idx[i];
        unsigned j = i;
        while (j > 0) {
            const cr_pub_stream_t *a = &pub->pub[idx[j - 1]], *b = &pub->pub[x];
            int after = all ? (a->rate_bps > b->rate_bps || (a->rate_bps == b->rate_bps && a->layer < b->layer))
                            : a->layer < b->layer;
            if (!after)
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
    memcpy(pub->vl, idx, n);
    pub->n_vl = (uint8_t)n;
}

int cr__sched_layer_to_pub(const cr_peer_t *pub, int sched_layer)
{
    return sched_layer >= 0 && sched_layer < pub->n_vl ? pub->vl[sched_layer] : -1;
}

/* --- feedback --- */

void cr__sched_on_nack(struct cr_worker *w, cr_peer_t *sub, cr_sub_stream_t *ss, uint16_t seq, uint64_t sent_us)
{
    if (!w->sch.ready || sub->sched_room == CR_SCHED_NONE)
        return;
    if (ss->nack_seen && (int16_t)(seq - ss->nack_hi) <= 0)
        return; /* asked again: counted once */
    if (cr__pace_was_dropped(w, ss->ssrc, seq))
        return; /* the pacer dropped it: not the link's loss */
    ss->nack_seen = 1;
    ss->nack_hi = seq;
    cr__room_fb_t *fb = &w->sch.fb[sub->sched_room];
    fb->last_nack_us = w->now_us;
    if (sent_us < w->now_us && w->now_us - sent_us < 2000000u && w->now_us - sent_us > fb->nack_delay_us)
        fb->nack_delay_us = w->now_us - sent_us; /* a deep queue on the link: wait that long to judge */
    /* The interval it was sent in (newest first); before the ring: too old to judge. */
    for (unsigned k = 0; k < fb->ring_n; k++) {
        cr__fb_snap_t *x = &fb->ring[(fb->ring_pos + CR_FB_RING - 1 - k) % CR_FB_RING];
        if (sent_us > x->t_us) {
            if (k == 0)
                fb->lost_open++;
            else
                fb->ring[(fb->ring_pos + CR_FB_RING - k) % CR_FB_RING].lost++;
            return;
        }
    }
}

void cr__sched_on_report(struct cr_worker *w, cr_peer_t *sub, cr_sub_stream_t *ss, uint8_t fraction_lost,
                         uint32_t ext_high_seq)
{
    if (!w->sch.ready || sub->sched_room == CR_SCHED_NONE)
        return;
    cr__room_fb_t *fb = &w->sch.fb[sub->sched_room];
    if (ss->rr_seen) {
        uint32_t expected = ext_high_seq - ss->rr_ext_seq;
        if (expected < 1000000u) {
            fb->rr_expected += expected;
            fb->rr_lost += (uint64_t)expected * fraction_lost / 256u;
        }
    }
    ss->rr_seen = 1;
    ss->rr_ext_seq = ext_high_seq;
    if (ss->rtt_us != 0)
        fb->rtt_us = ss->rtt_us;
}

/*
 * Transport-wide feedback of one subscriber into its classroom's estimator. Arrivals are in the
 * relay's clock already (cr_twcc.c), so every receiver's packets count in the link's rates and loss;
 * the delay gradient takes one receiver's only, the delay reporter's: the first with feedback, until
 * it leaves or its feedback stops for CR_TWCC_REPORTER_US. When the estimate falls noticeably, or
 * the detector turns to overuse, the allocator runs at the end of this loop turn rather than at the
 * next tick, and the pacer's classroom bucket follows at once.
 */
/*
 * A classroom's receivers send feedback at their own times (every 50-100 ms each), so its newest
 * arrivals are not all reported yet; counting them read the delivered rate 20 % low with the bed's
 * 8 receivers, and a decrease to 0.85 x "delivered" fell to 0.65 x the link. The estimator's rates
 * stop where every receiver heard from in the last CR_TWCC_REPORTER_US has reported.
 */
static void twcc_horizon(cr__room_fb_t *fb, cr_est_t *e, uintptr_t me, const cr_est_pkt_t *pkts, size_t n,
                         uint64_t now)
{
    uint64_t arr = 0, send = 0;
    for (size_t i = 0; i < n; i++) {
        if (pkts[i].send_us > send)
            send = pkts[i].send_us;
        if (!pkts[i].lost && pkts[i].arrival_us > arr)
            arr = pkts[i].arrival_us;
    }
    unsigned k = 0, pick = 0;
    for (k = 0; k < CR_TWCC_RX && fb->twcc_rx[k].peer != me; k++)
        if (fb->twcc_rx[k].fb_us < fb->twcc_rx[pick].fb_us)
            pick = k; /* (the stalest, to be replaced if me is new) */
    if (k == CR_TWCC_RX) {
        k = pick;
        fb->twcc_rx[k].peer = me;
        fb->twcc_rx[k].arr_us = fb->twcc_rx[k].send_us = 0;
    }
    fb->twcc_rx[k].fb_us = now;
    if (arr > fb->twcc_rx[k].arr_us)
        fb->twcc_rx[k].arr_us = arr;
    if (send > fb->twcc_rx[k].send_us)
        fb->twcc_rx[k].send_us = send;
    uint64_t ha = UINT64_MAX, hs = UINT64_MAX;
    for (k = 0; k < CR_TWCC_RX; k++) {
        if (fb->twcc_rx[k].peer == 0 || now - fb->twcc_rx[k].fb_us > CR_TWCC_REPORTER_US)
            continue;
        if (fb->twcc_rx[k].arr_us < ha)
            ha = fb->twcc_rx[k].arr_us;
        if (fb->twcc_rx[k].send_us < hs)
            hs = fb->twcc_rx[k].send_us;
    }
    cr_est_set_horizon(e, ha == UINT64_MAX ? 0 : ha, hs == UINT64_MAX ? 0 : hs);
}

void cr__sched_on_twcc(struct cr_worker *w, cr_peer_t *sub, cr_est_pkt_t *pkts, size_t n)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready || sub->sched_room == CR_SCHED_NONE || n == 0)
        return;
    uint64_t now = w->now_us;
    cr__room_fb_t *fb = &s->fb[sub->sched_room];
    cr_est_t *e = &cr_topo_room(&s->topo, sub->sched_room)->est;
    uintptr_t me = (uintptr_t)sub;
    if (fb->twcc_reporter != me && (fb->twcc_reporter == 0 || now - fb->twcc_reporter_us > CR_TWCC_REPORTER_US))
        fb->twcc_reporter = me;
    uint8_t rate_only = fb->twcc_reporter != me;
    if (!rate_only)
        fb->twcc_reporter_us = now;
    for (size_t i = 0; i < n; i++)
        pkts[i].rate_only = rate_only;
    if (fb->rtt_us != 0)
        e->rtt_us = fb->rtt_us; /* (from receiver reports: feedback carries no round trip) */
    twcc_horizon(fb, e, me, pkts, n, now);
    uint64_t before = cr_est_value(e, now);
    enum cr_est_usage usage = e->usage;
    cr_est_on_packets(e, pkts, n, now);
    fb->twcc_us = now;
    uint64_t after = cr_est_value(e, now);
    if (after * 100 < before * 95 || (e->usage == CR_EST_OVERUSE && usage != CR_EST_OVERUSE))
        s->dirty = 1;
}

/* Closes the classroom's current interval and reports the loss of the packets sent between
 * REPORT_LAG_US + RTT + REPORT_WINDOW_US and REPORT_LAG_US + RTT ago (and after its last back-off) to its
 * estimator, once at least REPORT_MIN_PACKETS were sent then. */
static void room_report(cr__wsched_t *s, uint32_t r, uint64_t now)
{
    cr_room_t *room = cr_topo_room(&s->topo, r);
    cr__room_fb_t *fb = &s->fb[r];
    fb->ring[fb->ring_pos] = (cr__fb_snap_t){now, room->link.sent_packets, room->link.sent_bytes, fb->rr_lost,
                                             fb->rr_expected, fb->lost_open};
    fb->lost_open = 0;
    fb->ring_pos = (fb->ring_pos + 1) % CR_FB_RING;
    if (fb->ring_n < CR_FB_RING)
        fb->ring_n++;
    /* Walk back from the newest interval: skip those ending within the lag, sum those after. */
    const cr__fb_snap_t *end = NULL, *start = NULL;
    /* A NACK comes a round trip plus the link's queue after the loss: wait at least that long. */
    uint64_t lost = 0, lag = REPORT_LAG_US + (uint64_t)fb->rtt_us;
    if (fb->nack_delay_us + 50000u > lag)
        lag = fb->nack_delay_us + 50000u;
    fb->nack_delay_us -= fb->nack_delay_us / 32; /* (decays by half in about 2 s) */
    for (unsigned k = 0; k + 1 < fb->ring_n; k++) {
        const cr__fb_snap_t *x = &fb->ring[(fb->ring_pos + CR_FB_RING - 1 - k) % CR_FB_RING];
        const cr__fb_snap_t *prev = &fb->ring[(fb->ring_pos + CR_FB_RING - 2 - k) % CR_FB_RING];
        if (now - x->t_us < lag)
            continue;
        if (prev->t_us < fb->after_us)
            break; /* sent before the last back-off */
        if (end == NULL)
            end = x;
        start = prev;
        lost += x->lost;
        uint64_t span = end->t_us - start->t_us, n = end->pkts - start->pkts;
        if (n >= REPORT_MIN_PACKETS && (span >= REPORT_WINDOW_US || (span >= REPORT_WINDOW_US / 3 && lost * 5 > n)))
            break; /* (heavy loss, over 20 %, is clear from a third of the window: a capacity drop) */
    }
    if (fb->twcc_us != 0 && now - fb->twcc_us < CR_TWCC_FRESH_US) {
        /* Transport-wide feedback is this link's loss input now (cr_est_on_report's comment): when
         * it stops, reports judge only what is sent from then on. */
        fb->after_us = now;
        return;
    }
    if (end == NULL || end->pkts - start->pkts < REPORT_MIN_PACKETS)
        return;
    uint64_t el = end->t_us - start->t_us, pkts = end->pkts - start->pkts;
    uint64_t rr_exp = end->rr_expected - start->rr_expected;
    int by_nack = fb->last_nack_us != 0 && now - fb->last_nack_us < NACK_FRESH_US;
    double loss = 0;
    if (by_nack)
        loss = (double)lost / (double)pkts;
    else if (rr_exp > 0)
        loss = (double)(end->rr_lost - start->rr_lost) / (double)rr_exp;
    uint64_t before = room->est.last_dec_us;
    cr_est_on_report(&room->est, loss, fb->rtt_us, (end->bytes - start->bytes) * 8u * 1000000u / el, (uint32_t)pkts,
                     now);
    fb->loss = loss;
    if (room->est.last_dec_us != before)
        fb->after_us = now; /* the next report judges what is sent at the new rate */
}

/* The 100 ms tick: layer bitrates, REMB and loss reports. */
static void tick(struct cr_worker *w, uint64_t now)
{
    cr__wsched_t *s = &w->sch;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        if (p->role == CR_PEER_PUBLISHER) {
            for (unsigned i = 0; i < p->n_pub; i++)
                stream_rate(&p->pub[i], now);
            order_layers(p);
        } else if (p->sched_room != CR_SCHED_NONE) {
            /* While the classroom's link shows loss, a REMB below what the receiver is being sent
             * says how much its path takes: the link then carries at most that plus what its other
             * receivers get. Otherwise a REMB caps nothing: a receive-side estimator trails the rate
             * it gets (up after a switch to a higher layer, down after a lower one), which is no
             * measure of the link (browsers without transport-cc send it; chasing it halved their
             * frame rate and stalled layer switches for seconds). */
            cr__room_fb_t *fb = &s->fb[p->sched_room];
            int fresh = p->remb_bps != 0 && now - p->remb_us < REMB_TTL_US &&
                        cr_est_degraded(&cr_topo_room(&s->topo, p->sched_room)->est, now);
            if (fresh && p->remb_bps * 100 < p->bps_out * REMB_BELOW_PCT) {
                fb->remb_sum += p->remb_bps;
                fb->remb_capped = 1;
            } else {
                fb->remb_sum += p->bps_out;
            }
        }
    }
    for (uint32_t r = 0; r < s->topo.n_rooms; r++) {
        cr_room_t *room = cr_topo_room(&s->topo, r);
        if (room->n_subs == 0)
            continue;
        /* (0 lifts the ceiling once no receiver asks for less) */
        cr_est_on_remb(&room->est, s->fb[r].remb_capped ? s->fb[r].remb_sum : 0, now);
        s->fb[r].remb_sum = 0;
        s->fb[r].remb_capped = 0;
        room_report(s, r, now);
    }
}

/* --- allocation --- */

/* A subscriber's subscriptions get its source's layers (lowest first), its role and its own cap. */
static void sub_layers(cr_topo_t *t, cr_peer_t *p)
{
    const cr_peer_t *src = p->source;
    for (unsigned i = 0; i < p->n_sub; i++) {
        uint32_t k = p->sched_sub[i];
        if (k == CR_SCHED_NONE)
            continue;
        uint32_t bps[CR_SCHED_MAX_LAYERS];
        unsigned n = 0;
        int cap = -1;
        if (src != NULL && p->sub[i].kind == CR_SDP_AUDIO) {
            for (unsigned j = 0; j < src->n_pub && n == 0; j++)
                if (src->pub[j].kind == CR_SDP_AUDIO)
                    bps[n++] = src->audio_muted ? 0 : src->pub[j].rate_bps;
        } else if (src != NULL) {
            for (unsigned j = 0; j < src->n_vl; j++) {
                const cr_pub_stream_t *st = &src->pub[src->vl[j]];
                bps[n++] = src->video_muted ? 0 : st->rate_bps;
                if (p->want_rid[0] && strcmp(st->rid, p->want_rid) == 0)
                    cap = (int)j;
            }
            cr_topo_sub(t, k)->role = (uint8_t)role_of(p);
        }
        cr_topo_sub_set_layers(t, k, bps, n);
        cr_topo_sub_set_max_layer(t, k, cap);
    }
}

/* The allocator's video layer of a subscriber, as a layer of its source (CR_PEER_LAYER_AUTO while
 * the source has no measured layer), and the switch toward it. */
static void apply(cr_topo_t *t, cr_peer_t *p, uint64_t now)
{
    int layer = CR_PEER_LAYER_AUTO;
    for (unsigned i = 0; i < p->n_sub; i++) {
        uint32_t k = p->sched_sub[i];
        if (k == CR_SCHED_NONE || p->sub[i].kind != CR_SDP_VIDEO || p->source == NULL)
            continue;
        const cr_sub_t *cs = cr_topo_sub(t, k);
        if (cs->reason == CR_WHY_NONE)
            continue;
        int pi = cr__sched_layer_to_pub(p->source, cs->layer);
        layer = pi >= 0 ? p->source->pub[pi].layer : -1;
    }
    if (layer != p->sched_layer) {
        p->sched_layer = (int8_t)layer;
        cr__fanout_retarget(p, now);
    }
}

void cr__sched_turn(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready)
        return;
    uint64_t now = w->now_us;
    if (now >= s->next_tick_us) {
        s->next_tick_us = now + CR_SCHED_TICK_US;
        tick(w, now);
        s->dirty = 1;
        if (now >= s->next_publish_us) {
            s->next_publish_us = now + CR_LINK_PUBLISH_US;
            s->publish = 1;
        }
    }
    if (!s->dirty)
        return;
    s->dirty = 0;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        if (p->role == CR_PEER_SUBSCRIBER && p->sched_room != CR_SCHED_NONE)
            sub_layers(&s->topo, p);
    }
    cr_alloc_run(&s->topo, &s->alloc, now);
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        if (p->role == CR_PEER_SUBSCRIBER && p->sched_room != CR_SCHED_NONE)
            apply(&s->topo, p, now);
    }
    if (s->publish) {
        s->publish = 0;
        cr__stats_publish_links(w);
    }
}
