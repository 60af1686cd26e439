/*
 * Bandwidth estimation for one classroom link (GCC-like) and the school's shared-bottleneck
 * detector. See cr_estimate.h for the inputs; the constants follow draft-ietf-rmcat-gcc-02 and
 * libwebrtc's TrendlineEstimator / AimdRateControl / ProbeBitrateEstimator where they apply.
 */
#include "cr_estimate.h"

#include <math.h>
#include <string.h>

#define GROUP_US 5000            /* packets sent within 5 ms form one group (GCC section 5.2) */
#define SMOOTHING 0.9            /* trendline's exponential smoothing of the accumulated delay */
#define THRESHOLD_GAIN 4.0       /* trendline slope -> "modified trend" */
#define MAX_DELTAS 60            /* the slope is scaled by at most this many samples */
#define K_UP 0.0087              /* adaptive threshold (GCC section 5.4) */
#define K_DOWN 0.039
#define THRESH_MIN_MS 6.0
#define THRESH_MAX_MS 600.0
#define MAX_ADAPT_OFFSET_MS 15.0
#define OVERUSE_TIME_MS 10.0
#define DEC_MIN_GAP_US 200000    /* at most one delay-based decrease per 200 ms (about an RTT) */
#define LOSS_PERIOD_US 100000    /* transport-cc loss is judged over at least 100 ms ... */
#define LOSS_MIN_PACKETS 20      /* ... and 20 packets */
#define LOSS_DEC_GAP_US 300000   /* GCC: loss-based decrease at most once per 300 ms + RTT */
#define PROBE_MIN_PACKETS 5
#define PROBE_TIMEOUT_US 1000000
#define ACK_SPAN 15              /* complete buckets that make the acknowledged rate */
#define PROBE_QUIET_US 250000    /* no delay-based decrease this long after a probe cluster */
#define OWD_BLOCK_US 5000000     /* the base one-way delay is the minimum over 5-10 s */
#define QUEUE_PERSIST_US 50000   /* a standing queue must last this long to count */
#define REPORT_LCE_TTL_US 3000000 /* loss reports: the last congestion point is forgotten after this */

void cr_est_params_default(cr_est_params_t *p)
{
    p->min_bps = 150000;
    p->start_bps = 5000000;
    p->loss_high = 0.10;
    p->loss_low = 0.02;
    p->beta = 0.85;
    p->beta_mild = 0.95;
    p->mult_inc_per_s = 0.08;
    p->near_inc_per_s = 0.04;
    p->remb_ttl_us = 5000000;
    p->probe_interval_us = 2000000;
    p->probe_duration_us = 15000;
    p->congested_ttl_us = 1000000;
    p->queue_max_us = 15000;
    p->report_inc_per_s = 0.25;
    p->lce_ttl_us = 0;
    p->acked_headroom = 1.5;
}

void cr_est_init(cr_est_t *e, const cr_est_params_t *p, uint64_t capacity_bps, uint64_t now_us)
{
    memset(e, 0, sizeof(*e));
    if (p != NULL)
        e->p = *p;
    else
        cr_est_params_default(&e->p);
    e->capacity_bps = capacity_bps;
    uint64_t start = e->p.start_bps != 0 && e->p.start_bps < capacity_bps ? e->p.start_bps : capacity_bps;
    e->delay_bps = e->loss_bps = (double)start;
    e->threshold_ms = 12.5;
    e->overuse_ms = -1;
    e->last_inc_us = e->loss_period_start_us = now_us;
    e->probe_after_us = now_us;
    e->probe_fast = 1;
    e->probe_next_id = 1;
    e->congested_us = UINT64_MAX; /* never */
    e->last_dec_us = e->last_loss_dec_us = UINT64_MAX;
    e->queue_since_us = UINT64_MAX;
}

void cr_est_set_horizon(cr_est_t *e, uint64_t arrival_us, uint64_t send_us)
{
    e->ack_horizon_us = arrival_us;
    e->sent_horizon_us = send_us;
}

void cr_est_set_capacity(cr_est_t *e, uint64_t capacity_bps)
{
    e->capacity_bps = capacity_bps; /* a ceiling applied by cr_est_value: the state stays */
}

static int since(uint64_t then, uint64_t now, uint64_t gap)
{
    return then == UINT64_MAX || now >= then + gap;
}

uint64_t cr_est_value(const cr_est_t *e, uint64_t now_us)
{
    double v = e->delay_bps < e->loss_bps ? e->delay_bps : e->loss_bps;
    if (v > (double)e->capacity_bps)
        v = (double)e->capacity_bps;
    if (e->remb_bps != 0 && now_us < e->remb_us + e->p.remb_ttl_us && v > (double)e->remb_bps)
        v = (double)e->remb_bps;
    uint64_t floor = e->p.min_bps < e->capacity_bps ? e->p.min_bps : e->capacity_bps;
    return v < (double)floor ? floor : (uint64_t)v;
}

uint64_t cr_est_acked(const cr_est_t *e)
{
    return (uint64_t)e->acked_bps;
}

uint64_t cr_est_sent(const cr_est_t *e)
{
    return (uint64_t)e->sent_bps;
}

int cr_est_degraded(const cr_est_t *e, uint64_t now_us)
{
    return e->congested_us != UINT64_MAX && now_us < e->congested_us + e->p.congested_ttl_us;
}

/* ---- acknowledged rate: received bytes in 10 ms buckets of arrival time ---- */

static void ack_add(cr_est_t *e, uint64_t arrival_us, uint32_t size)
{
    uint64_t id = arrival_us / CR_EST_ACK_BUCKET_US + 1; /* +1: id 0 means an empty slot */
    unsigned i = (unsigned)(id % CR_EST_ACK_BUCKETS);
    if (e->ack_bucket_id[i] != id) {
        if (e->ack_bucket_id[i] > id)
            return; /* older than the window */
        e->ack_bucket_id[i] = id;
        e->ack_bytes[i] = 0;
    }
    e->ack_bytes[i] += size;
    if (id > e->ack_newest)
        e->ack_newest = id;
    if (e->ack_first == 0)
        e->ack_first = id;
}

static void sent_add(cr_est_t *e, uint64_t send_us, uint32_t size)
{
    uint64_t id = send_us / CR_EST_ACK_BUCKET_US + 1;
    unsigned i = (unsigned)(id % CR_EST_ACK_BUCKETS);
    if (e->sent_bucket_id[i] != id) {
        if (e->sent_bucket_id[i] > id)
            return;
        e->sent_bucket_id[i] = id;
        e->sent_bytes[i] = 0;
    }
    e->sent_bytes[i] += size;
    if (id > e->sent_newest)
        e->sent_newest = id;
    if (e->sent_first == 0)
        e->sent_first = id;
}

/* Bytes per second over the last complete buckets of a ring, none at or after the horizon's bucket
 * (0 = none; a horizon older than the ring's window: the window's buckets) (0 if under 3 buckets). */
static double ring_rate(const uint64_t *ids, const uint64_t *bytes, uint64_t newest, uint64_t first,
                        uint64_t horizon_us)
{
    if (newest == 0)
        return 0;
    if (horizon_us != 0) {
        uint64_t h = horizon_us / CR_EST_ACK_BUCKET_US + 1; /* the horizon's bucket: not complete */
        uint64_t keep = CR_EST_ACK_BUCKETS - ACK_SPAN - 1;   /* (the window must stay in the ring) */
        uint64_t oldest = newest > keep ? newest - keep : 0;
        if (h < newest)
            newest = h > oldest ? h : oldest;
    }
    uint64_t lo = newest > ACK_SPAN ? newest - ACK_SPAN : 1;
    if (lo < first)
        lo = first;
    uint64_t sum = 0;
    unsigned span = 0;
    for (uint64_t id = lo; id < newest; id++) {
        unsigned i = (unsigned)(id % CR_EST_ACK_BUCKETS);
        span++;
        if (ids[i] == id)
            sum += bytes[i];
    }
    return span >= 3 ? (double)sum * 8.0 * 1e6 / ((double)span * CR_EST_ACK_BUCKET_US) : 0;
}

static void ack_compute(cr_est_t *e)
{
    double s = ring_rate(e->sent_bucket_id, e->sent_bytes, e->sent_newest, e->sent_first, e->sent_horizon_us);
    if (s > 0)
        e->sent_bps = s;
    double a = ring_rate(e->ack_bucket_id, e->ack_bytes, e->ack_newest, e->ack_first, e->ack_horizon_us);
    if (a > 0)
        e->acked_bps = a;
}

/* ---- loss-based estimate (GCC section 6) ---- */

static void loss_update(cr_est_t *e, double loss, uint64_t now_us)
{
    e->last_loss = loss;
    if (loss > e->p.loss_high) {
        e->congested_us = now_us;
        if (since(e->last_loss_dec_us, now_us, LOSS_DEC_GAP_US + e->rtt_us)) {
            double cur = e->delay_bps < e->loss_bps ? e->delay_bps : e->loss_bps;
            e->loss_bps = cur * (1.0 - 0.5 * loss);
            if (e->loss_bps < (double)e->p.min_bps)
                e->loss_bps = (double)e->p.min_bps;
            e->last_loss_dec_us = now_us;
        }
    } else if (loss < e->p.loss_low) {
        e->loss_bps = e->loss_bps * 1.05 + 1000.0;
        if (e->loss_bps > (double)e->capacity_bps)
            e->loss_bps = (double)e->capacity_bps;
    }
}

void cr_est_on_rr(cr_est_t *e, uint8_t fraction_lost, uint32_t rtt_us, uint64_t now_us)
{
    if (rtt_us != 0)
        e->rtt_us = rtt_us;
    loss_update(e, fraction_lost / 256.0, now_us);
}

/* A report's loss: fall to beta x what the link delivered (see cr_estimate.h). */
static void report_decrease(cr_est_t *e, double loss, double acked, double beta, uint64_t now_us)
{
    e->congested_us = now_us;
    if (now_us < e->shared_until_us || !since(e->last_dec_us, now_us, LOSS_DEC_GAP_US + e->rtt_us))
        return;
    if (since(e->last_dec_us, now_us, 1000000))
        e->pre_dec_bps = e->delay_bps; /* the first decrease of an episode: remember the level */
    double nb = e->delay_bps * (1.0 - 0.5 * loss);
    if (acked > 0 && beta * acked < nb)
        nb = beta * acked;
    e->lce_bps = acked > 0 ? acked : nb;
    e->delay_bps = nb < (double)e->p.min_bps ? (double)e->p.min_bps : nb;
    e->last_dec_us = e->last_inc_us = now_us;
}

void cr_est_on_report(cr_est_t *e, double loss, uint32_t rtt_us, uint64_t sent_bps, uint32_t n_packets,
                      uint64_t now_us)
{
    if (rtt_us != 0)
        e->rtt_us = rtt_us;
    if (loss < 0)
        loss = 0;
    if (loss > 1)
        loss = 1;
    double acked = (double)sent_bps * (1.0 - loss);
    e->packets_in += n_packets;
    e->sent_bps = (double)sent_bps;
    e->acked_bps = acked;
    e->last_loss = loss;
    if (loss > e->p.loss_high) {
        report_decrease(e, loss, acked, e->p.beta, now_us);
        e->report_lossy = 1;
        return;
    }
    double dt = now_us > e->last_inc_us ? (double)(now_us - e->last_inc_us) / 1e6 : 0.0;
    e->last_inc_us = now_us;
    if (loss >= e->p.loss_low) {
        if (e->report_lossy && e->clean_sent_bps > 0 && (double)sent_bps > 1.02 * e->clean_sent_bps)
            report_decrease(e, loss, acked, e->p.beta_mild, now_us);
        e->report_lossy = 1;
        return; /* some loss: hold */
    }
    e->report_lossy = 0;
    e->clean_sent_bps = (double)sent_bps;
    if (dt > 1.0)
        dt = 1.0;
    if (e->lce_bps > 0 && since(e->last_dec_us, now_us, REPORT_LCE_TTL_US))
        e->lce_bps = 0; /* clean for a while: the link may have grown, climb fast again */
    int near = e->lce_bps > 0 && e->delay_bps < 1.1 * e->lce_bps;
    e->delay_bps *= 1.0 + (near ? e->p.mult_inc_per_s : e->p.report_inc_per_s) * dt;
    if (e->delay_bps > (double)e->capacity_bps)
        e->delay_bps = (double)e->capacity_bps;
}

void cr_est_school_congested(cr_est_t *e, uint64_t until_us)
{
    if (e->pre_dec_bps > e->delay_bps)
        e->delay_bps = e->pre_dec_bps;
    e->lce_bps = 0;
    e->shared_until_us = until_us;
}

void cr_est_on_remb(cr_est_t *e, uint64_t bps, uint64_t now_us)
{
    e->remb_bps = bps;
    e->remb_us = now_us;
}

/* ---- delay-based estimate: AIMD driven by the overuse detector (GCC section 5.5) ---- */

static void aimd(cr_est_t *e, uint64_t now_us, int standing)
{
    if (e->usage == CR_EST_OVERUSE) {
        if (!since(e->last_dec_us, now_us, DEC_MIN_GAP_US))
            return;
        if (e->probe_started_us != 0 && now_us < e->probe_started_us + e->p.probe_duration_us + PROBE_QUIET_US)
            return; /* our own probe queued those packets: its result speaks for the link */
        e->congested_us = now_us;
        if (now_us < e->shared_until_us)
            return; /* the school link is the bottleneck: its estimate backs off, not ours */
        if (since(e->last_dec_us, now_us, 1000000))
            e->pre_dec_bps = e->delay_bps; /* first decrease of an episode: remember the level */
        double acked = e->acked_bps > 0 ? e->acked_bps : e->delay_bps;
        double nb;
        if (e->sent_bps > 0 && acked >= 0.9 * e->sent_bps)
            nb = e->p.beta_mild * e->delay_bps; /* the link delivered what we sent: a burst queued */
        else
            nb = e->p.beta * acked; /* the link limited us: back off below what it delivered */
        if (standing && nb > e->p.beta_mild * acked)
            nb = e->p.beta_mild * acked; /* a queue that stays: get under the delivered rate to drain it */
        if (nb > e->delay_bps)
            nb = e->delay_bps;
        /* The link capacity estimate: the rate the link delivered when it congested. */
        if (e->lce_bps <= 0 || acked < e->lce_bps * (1.0 - 3.0 * e->lce_var)) {
            e->lce_bps = acked;
            e->lce_var = 0.05;
        } else {
            double dev = fabs(acked - e->lce_bps) / e->lce_bps;
            e->lce_bps = 0.95 * e->lce_bps + 0.05 * acked;
            e->lce_var = 0.95 * e->lce_var + 0.05 * dev;
            if (e->lce_var < 0.05)
                e->lce_var = 0.05;
        }
        e->delay_bps = nb < (double)e->p.min_bps ? (double)e->p.min_bps : nb;
        e->last_dec_us = e->last_inc_us = e->congested_us = now_us;
        e->hold = 1;
        return;
    }
    if (e->usage == CR_EST_UNDERUSE) {
        e->hold = 1; /* queues are draining: keep the rate until they are empty */
        e->last_inc_us = now_us;
        return;
    }
    e->hold = 0;
    double dt = now_us > e->last_inc_us ? (double)(now_us - e->last_inc_us) / 1e6 : 0.0;
    if (dt > 1.0)
        dt = 1.0;
    e->last_inc_us = now_us;
    if (e->lce_bps > 0 && e->delay_bps > e->lce_bps * (1.0 + 3.0 * e->lce_var))
        e->lce_bps = 0; /* well past the old congestion point: capacity has grown */
    if (e->lce_bps > 0 && e->p.lce_ttl_us != 0 && since(e->last_dec_us, now_us, e->p.lce_ttl_us))
        e->lce_bps = 0; /* no congestion near it for a while: the link may have changed */
    double nb;
    if (e->lce_bps > 0)
        nb = e->delay_bps + e->p.near_inc_per_s * e->lce_bps * dt;
    else
        nb = e->delay_bps * pow(1.0 + e->p.mult_inc_per_s, dt);
    /* An application-limited sender proves nothing above what it sends (libwebrtc's 1.5x rule). */
    if (e->acked_bps > 0) {
        double cap = e->p.acked_headroom * e->acked_bps + 10000.0;
        if (cap < e->delay_bps)
            cap = e->delay_bps;
        if (nb > cap)
            nb = cap;
    }
    if (nb > (double)e->capacity_bps)
        nb = (double)e->capacity_bps;
    e->delay_bps = nb;
}

static void update_threshold(cr_est_t *e, double modified, double now_ms)
{
    double a = fabs(modified);
    if (e->last_thresh_ms == 0)
        e->last_thresh_ms = now_ms;
    if (a > e->threshold_ms + MAX_ADAPT_OFFSET_MS) {
        e->last_thresh_ms = now_ms; /* a spike: do not let it drag the threshold up */
        return;
    }
    double k = a < e->threshold_ms ? K_DOWN : K_UP;
    double dt = now_ms - e->last_thresh_ms;
    if (dt > 100.0)
        dt = 100.0;
    if (dt < 0)
        dt = 0;
    e->threshold_ms += k * (a - e->threshold_ms) * dt;
    if (e->threshold_ms < THRESH_MIN_MS)
        e->threshold_ms = THRESH_MIN_MS;
    if (e->threshold_ms > THRESH_MAX_MS)
        e->threshold_ms = THRESH_MAX_MS;
    e->last_thresh_ms = now_ms;
}

static double trend_slope(const cr_est_t *e)
{
    double sx = 0, sy = 0;
    for (unsigned i = 0; i < e->trend_n; i++) {
        sx += e->trend_x[i];
        sy += e->trend_y[i];
    }
    double mx = sx / e->trend_n, my = sy / e->trend_n, num = 0, den = 0;
    for (unsigned i = 0; i < e->trend_n; i++) {
        num += (e->trend_x[i] - mx) * (e->trend_y[i] - my);
        den += (e->trend_x[i] - mx) * (e->trend_x[i] - mx);
    }
    return den > 0 ? num / den : 0.0;
}

/* One completed send group: delta_ms is its inter-group delay variation d(i) (GCC section 5.3). */
static void trend_update(cr_est_t *e, double delta_ms, double ts_delta_ms, double arr_ms, uint64_t now_us)
{
    if (e->num_deltas < 1000)
        e->num_deltas++;
    e->acc_delay_ms += delta_ms;
    e->smooth_delay_ms = SMOOTHING * e->smooth_delay_ms + (1.0 - SMOOTHING) * e->acc_delay_ms;
    if (e->trend_n == 0 && e->trend_pos == 0)
        e->first_arr_ms = arr_ms;
    e->trend_x[e->trend_pos] = arr_ms - e->first_arr_ms;
    e->trend_y[e->trend_pos] = e->smooth_delay_ms;
    e->trend_pos = (e->trend_pos + 1) % CR_EST_TREND_WINDOW;
    if (e->trend_n < CR_EST_TREND_WINDOW)
        e->trend_n++;
    double slope = e->trend_n == CR_EST_TREND_WINDOW ? trend_slope(e) : e->prev_trend;

    double n = e->num_deltas < MAX_DELTAS ? e->num_deltas : MAX_DELTAS;
    double modified = n * slope * THRESHOLD_GAIN;
    if (e->num_deltas < 2) {
        e->usage = CR_EST_NORMAL;
    } else if (modified > e->threshold_ms) {
        e->overuse_ms = e->overuse_ms < 0 ? ts_delta_ms / 2 : e->overuse_ms + ts_delta_ms;
        e->overuse_count++;
        if (e->overuse_ms > OVERUSE_TIME_MS && e->overuse_count > 1 && slope >= e->prev_trend) {
            e->overuse_ms = 0;
            e->overuse_count = 0;
            e->usage = CR_EST_OVERUSE;
        }
    } else if (modified < -e->threshold_ms) {
        e->overuse_ms = -1;
        e->overuse_count = 0;
        e->usage = CR_EST_UNDERUSE;
    } else {
        e->overuse_ms = -1;
        e->overuse_count = 0;
        e->usage = CR_EST_NORMAL;
    }
    e->prev_trend = slope;
    update_threshold(e, modified, arr_ms);
    aimd(e, now_us, 0);
}

/*
 * Standing queue: the one-way delay above its minimum over the last 5-10 s (the clocks' offset
 * cancels). The trendline misses a sender slightly above capacity (slope under its threshold), so a
 * queue that stays above queue_max_us for a while also counts as overuse.
 */
static int standing_queue(cr_est_t *e, const cr_est_pkt_t *pk)
{
    int64_t owd = (int64_t)(pk->arrival_us - pk->send_us); /* wraps to the right signed value */
    if (pk->send_us >= e->owd_block_start + OWD_BLOCK_US || !e->owd_valid) {
        e->owd_prev_min = e->owd_valid ? e->owd_cur_min : owd;
        e->owd_cur_min = owd;
        e->owd_block_start = pk->send_us;
        e->owd_valid = 1;
    }
    if (owd < e->owd_cur_min)
        e->owd_cur_min = owd;
    int64_t base = e->owd_cur_min < e->owd_prev_min ? e->owd_cur_min : e->owd_prev_min;
    e->queue_us = (uint64_t)(owd - base);
    if (e->queue_us <= e->p.queue_max_us) {
        e->queue_since_us = UINT64_MAX;
        return 0;
    }
    if (e->queue_since_us == UINT64_MAX)
        e->queue_since_us = pk->send_us;
    return pk->send_us >= e->queue_since_us + QUEUE_PERSIST_US;
}

static void group_add(cr_est_t *e, const cr_est_pkt_t *pk, uint64_t now_us)
{
    /* A standing queue that is not draining (the trendline does not say underuse) is overuse. */
    if (standing_queue(e, pk) && e->usage == CR_EST_NORMAL) {
        enum cr_est_usage u = e->usage;
        e->usage = CR_EST_OVERUSE;
        aimd(e, now_us, 1);
        e->usage = u;
    }
    if (e->grp_open && pk->send_us < e->grp_first_send + GROUP_US && pk->send_us + GROUP_US > e->grp_first_send) {
        if (pk->send_us > e->grp_last_send)
            e->grp_last_send = pk->send_us;
        if (pk->arrival_us > e->grp_last_arr)
            e->grp_last_arr = pk->arrival_us;
        return;
    }
    if (e->grp_open) {
        if (e->have_prev && e->grp_last_send > e->prev_last_send) {
            double send_d = (double)(e->grp_last_send - e->prev_last_send) / 1000.0;
            double arr_d = ((double)e->grp_last_arr - (double)e->prev_last_arr) / 1000.0;
            trend_update(e, arr_d - send_d, send_d, (double)e->grp_last_arr / 1000.0, now_us);
        }
        if (!e->have_prev || e->grp_last_send > e->prev_last_send) {
            e->prev_last_send = e->grp_last_send;
            e->prev_last_arr = e->grp_last_arr;
            e->have_prev = 1;
        }
    }
    e->grp_open = 1;
    e->grp_first_send = e->grp_last_send = pk->send_us;
    e->grp_last_arr = pk->arrival_us;
}

/* ---- probes (libwebrtc's ProbeBitrateEstimator, simplified) ---- */

static void probe_add(cr_est_t *e, const cr_est_pkt_t *pk)
{
    e->pr_count++;
    if (pk->lost) {
        e->pr_lost++;
        return;
    }
    if (e->pr_bytes == 0) {
        e->pr_first_send = e->pr_last_send = pk->send_us;
        e->pr_first_arr = e->pr_last_arr = pk->arrival_us;
        e->pr_first_size = pk->size;
    }
    if (pk->send_us >= e->pr_last_send)
        e->pr_last_send = pk->send_us;
    if (pk->arrival_us >= e->pr_last_arr) {
        e->pr_last_arr = pk->arrival_us;
        e->pr_last_size = pk->size;
    }
    if (pk->send_us < e->pr_first_send)
        e->pr_first_send = pk->send_us;
    if (pk->arrival_us < e->pr_first_arr) {
        e->pr_first_arr = pk->arrival_us;
        e->pr_first_size = pk->size;
    }
    e->pr_bytes += pk->size;
}

static void probe_finish(cr_est_t *e, uint64_t now_us)
{
    uint32_t recv = e->pr_count - e->pr_lost;
    double res = 0;
    int link_limited = 0;
    if (recv >= PROBE_MIN_PACKETS - 1 && e->pr_last_send > e->pr_first_send && e->pr_last_arr > e->pr_first_arr) {
        double send_rate = (double)(e->pr_bytes - e->pr_last_size) * 8e6 / (double)(e->pr_last_send - e->pr_first_send);
        double recv_rate = (double)(e->pr_bytes - e->pr_first_size) * 8e6 / (double)(e->pr_last_arr - e->pr_first_arr);
        res = send_rate < recv_rate ? send_rate : recv_rate;
        if (recv_rate < 0.9 * send_rate) {
            res = 0.95 * recv_rate; /* the link, not the sender, limited the cluster */
            link_limited = 1;
        }
        double lost = (double)e->pr_lost / e->pr_count;
        if (lost > e->p.loss_high)
            res *= 1.0 - lost;
    }
    if (res > (double)e->capacity_bps)
        res = (double)e->capacity_bps;
    e->last_probe_result_bps = res;
    if (res > e->delay_bps) {
        e->delay_bps = res;
        e->last_inc_us = now_us;
        /* A cluster the link slowed down measured its capacity: grow additively near it. */
        e->lce_bps = link_limited ? res : 0;
        e->lce_var = 0.05;
    }
    if (res > e->loss_bps)
        e->loss_bps = res;
    e->probe_fast = res >= 0.85 * (double)e->probe_rate_bps;
    e->probe_after_us = e->probe_fast ? now_us : now_us + e->p.probe_interval_us;
    e->probe_id = 0;
}

uint64_t cr_est_probe_want(cr_est_t *e, uint64_t now_us, uint16_t *cluster_id)
{
    if (e->probe_id != 0) {
        if (now_us < e->probe_started_us + PROBE_TIMEOUT_US)
            return 0;
        e->probe_id = 0; /* no usable feedback: give up on that cluster */
        e->probe_fast = 0;
        e->probe_after_us = now_us + e->p.probe_interval_us;
    }
    if (now_us < e->probe_after_us)
        return 0;
    uint64_t cur = cr_est_value(e, now_us);
    if ((double)cur >= 0.95 * (double)e->capacity_bps)
        return 0;
    if (e->remb_bps != 0 && now_us < e->remb_us + e->p.remb_ttl_us && cur >= e->remb_bps)
        return 0; /* the receiver says this is all it can take */
    if (!e->probe_fast && (e->usage != CR_EST_NORMAL || cr_est_degraded(e, now_us) ||
                           !since(e->congested_us, now_us, e->p.probe_interval_us)))
        return 0;
    /* Startup: 3x; while clusters are fully delivered: 2x; a periodic check near the last known
     * capacity: 1.5x (a cluster above capacity queues for its length times the excess). */
    uint64_t rate = e->last_probe_result_bps <= 0 ? cur * 3 : e->probe_fast ? cur * 2 : cur * 3 / 2;
    if (rate > e->capacity_bps)
        rate = e->capacity_bps;
    e->probe_id = e->probe_next_id++;
    if (e->probe_next_id == 0)
        e->probe_next_id = 1;
    e->probe_rate_bps = rate;
    e->probe_started_us = now_us;
    e->pr_count = e->pr_lost = 0;
    e->pr_bytes = 0;
    *cluster_id = e->probe_id;
    return rate;
}

void cr_est_on_packets(cr_est_t *e, const cr_est_pkt_t *pkts, size_t n, uint64_t now_us)
{
    int probe_seen_last = 0;
    for (size_t i = 0; i < n; i++) {
        const cr_est_pkt_t *pk = &pkts[i];
        e->packets_in++;
        e->loss_sent++;
        sent_add(e, pk->send_us, pk->size);
        if (!pk->rate_only) {
            probe_seen_last = e->probe_id != 0 && pk->probe_id == e->probe_id;
            if (probe_seen_last)
                probe_add(e, pk);
        }
        if (pk->lost) {
            e->loss_lost++;
            continue;
        }
        ack_add(e, pk->arrival_us, pk->size);
        if (!pk->rate_only)
            group_add(e, pk, now_us);
    }
    ack_compute(e);
    if (e->loss_sent >= LOSS_MIN_PACKETS && now_us >= e->loss_period_start_us + LOSS_PERIOD_US) {
        loss_update(e, (double)e->loss_lost / e->loss_sent, now_us);
        e->loss_sent = e->loss_lost = 0;
        e->loss_period_start_us = now_us;
    }
    if (e->probe_id != 0 && e->pr_count >= PROBE_MIN_PACKETS &&
        (!probe_seen_last || now_us >= e->probe_started_us + e->p.probe_duration_us + 100000))
        probe_finish(e, now_us);
}

/* ---- the school's shared bottleneck ---- */

void cr_school_est_init(cr_school_est_t *s, uint64_t capacity_bps, uint64_t now_us)
{
    memset(s, 0, sizeof(*s));
    s->est_bps = (double)capacity_bps;
    s->capacity_bps = capacity_bps;
    s->last_us = s->clean_since_us = now_us;
    s->last_drop_us = UINT64_MAX;
}

uint64_t cr_school_est_update(cr_school_est_t *s, unsigned n_active, unsigned n_degraded, uint64_t carried_bps,
                              uint64_t sent_bps, uint64_t now_us)
{
    double dt = now_us > s->last_us ? (double)(now_us - s->last_us) / 1e6 : 0.0;
    if (dt > 1.0)
        dt = 1.0;
    s->last_us = now_us;
    s->dropped = 0;
    if (n_degraded >= 2 && 2 * n_degraded >= n_active) {
        s->clean_since_us = now_us;
        if (since(s->last_drop_us, now_us, 500000)) {
            double target;
            if ((double)carried_bps < 0.9 * (double)sent_bps) {
                /* The link delivered less than the classrooms were sent: it is the limit. */
                target = 0.85 * (double)carried_bps;
                s->lce_bps = (double)carried_bps;
            } else {
                /* It delivered what it was sent: bursts queued. Step down from the estimate. */
                target = 0.9 * s->est_bps;
                s->lce_bps = s->est_bps;
            }
            if (target < s->est_bps)
                s->est_bps = target;
            s->last_drop_us = now_us;
            s->dropped = 1;
        }
    } else if (n_degraded == 0) {
        /* Back quickly to just under the rate that congested, creep past it, and once well past
         * it (the capacity grew) climb multiplicatively. */
        if (s->lce_bps > 0 && s->est_bps < 0.95 * s->lce_bps)
            s->est_bps += 0.10 * s->lce_bps * dt;
        else if (s->lce_bps > 0 && s->est_bps < 1.1 * s->lce_bps)
            s->est_bps += 0.02 * s->lce_bps * dt;
        else
            s->est_bps *= pow(1.25, dt);
    } else {
        s->clean_since_us = now_us; /* one classroom's own trouble: hold */
    }
    if (s->est_bps > (double)s->capacity_bps)
        s->est_bps = (double)s->capacity_bps;
    if (s->est_bps < 150000.0)
        s->est_bps = 150000.0;
    return (uint64_t)s->est_bps;
}
