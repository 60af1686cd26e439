/*
 * Transport-wide congestion control toward subscribers (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01): the relay is the sender. Every RTP packet to a subscriber that negotiated it
 * carries a transport-wide sequence number (cr_media.c writes it; cr__twcc_sent remembers the
 * packet here), and the subscriber's feedback says when each arrived, in its own clock, or that it
 * was lost. That becomes the classroom estimator's input (cr__sched_on_twcc): its delay-based
 * estimate notices a capacity cut from the queue growing, before the bottleneck drops packets.
 *
 * A packet is numbered as it leaves the relay: on the fast path in the loop turn it is written, and
 * a packet that waits in the pacer when the pacer releases it (cr_pace.c protects it only then). So
 * the numbers go out in order, and the time it was numbered is the time it left.
 *
 * Nothing here allocates; the feedback is walked into the worker's own array.
 */
#include <string.h>

#include "cr_rtcp.h"
#include "cr_worker_int.h"

#define TWCC_MASK (CR_TWCC_HIST - 1)
#define TWCC_MAX_AGE_US 2000000u /* feedback about an older packet is ignored (it is no news) */
#define OWD_BLOCK_US 5000000u    /* the receiver clock's offset: minimum one-way delay over 5-10 s */

_Static_assert((CR_TWCC_HIST & TWCC_MASK) == 0, "CR_TWCC_HIST must be a power of two");

void cr__twcc_sent(struct cr_worker *w, cr_peer_t *p, size_t len)
{
    cr_twcc_t *t = &p->twcc;
    if (t->hist == NULL)
        return;
    cr_twcc_sent_t *e = &t->hist[t->next_tseq & TWCC_MASK];
    e->write_us = (uint32_t)w->now_us;
    e->tseq = t->next_tseq;
    e->size = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
    e->reported = 0;
    t->next_tseq++;
}

/* The feedback walk: one call per packet status (cr_rtcp_twcc_parse's callback). */
typedef struct twcc_walk {
    struct cr_worker *w;
    cr_peer_t *p;
    int64_t arr_us; /* the running sum of receive deltas (the receiver's clock, from its reference time) */
    size_t n;       /* packets in w->twcc_pkts */
    uint32_t known; /* statuses about packets the relay sent and had not heard of yet */
} twcc_walk_t;

static void on_status(void *arg, uint16_t tseq, int received, int32_t delta_250us)
{
    twcc_walk_t *a = arg;
    cr_twcc_t *t = &a->p->twcc;
    if (received)
        a->arr_us += (int64_t)delta_250us * 250; /* deltas chain from the reference time (section 3.1.5) */
    cr_twcc_sent_t *e = &t->hist[tseq & TWCC_MASK];
    /* Unknown (never sent, or its slot reused: the tseq check covers 16-bit wrap) or reported. */
    if (e->size == 0 || e->tseq != tseq || e->reported)
        return;
    uint64_t now = a->w->now_us, write_us = now - (uint32_t)((uint32_t)now - e->write_us);
    if (now - write_us > TWCC_MAX_AGE_US)
        return;
    e->reported = 1;
    a->known++;
    t->reported++;
    t->lost += !received;
    if (a->n >= CR_TWCC_FB_MAX)
        return;
    cr_est_pkt_t *pk = &a->w->twcc_pkts[a->n++];
    memset(pk, 0, sizeof(*pk));
    pk->send_us = write_us; /* (numbered as it left: in its loop turn, or as the pacer released it) */
    pk->arrival_us = (uint64_t)a->arr_us; /* the receiver's clock, two's complement until normalised */
    pk->size = e->size;
    pk->lost = !received;
}

/* Send order. Packets are numbered as they leave (a paced one when the pacer releases it), so the
 * feedback is in send order already but for packets of one loop turn; the estimator needs it
 * sorted. Insertion sort: nearly sorted input, and it allocates nothing. */
static void sort_by_send(cr_est_pkt_t *pk, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        cr_est_pkt_t x = pk[i];
        size_t j = i;
        for (; j > 0 && pk[j - 1].send_us > x.send_us; j--)
            pk[j] = pk[j - 1];
        pk[j] = x;
    }
}

/*
 * Puts arrivals in the relay's clock, so that the classroom's receivers' rates can be summed:
 * arrival = send + (one-way delay - its recent minimum). The minimum stands for the clocks' offset
 * plus the path's base delay; what is left is the time queued. pk in send order.
 */
static void normalise(cr_twcc_t *t, cr_est_pkt_t *pk, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pk[i].lost)
            continue;
        int64_t owd = (int64_t)pk[i].arrival_us - (int64_t)pk[i].send_us;
        if (!t->owd_valid || pk[i].send_us >= t->owd_block_start + OWD_BLOCK_US) {
            t->owd_prev_min = t->owd_valid ? t->owd_cur_min : owd;
            t->owd_cur_min = owd;
            t->owd_block_start = pk[i].send_us;
            t->owd_valid = 1;
        }
        if (owd < t->owd_cur_min)
            t->owd_cur_min = owd;
        int64_t base = t->owd_cur_min < t->owd_prev_min ? t->owd_cur_min : t->owd_prev_min;
        pk[i].arrival_us = pk[i].send_us + (uint64_t)(owd - base);
    }
}

int cr__twcc_feedback(struct cr_worker *w, cr_peer_t *p, const cr_rtcp_pkt_t *r)
{
    cr_rtcp_twcc_t fb;
    twcc_walk_t a = {.w = w, .p = p};
    if (p->twcc.hist == NULL)
        return 0; /* not negotiated: nothing of ours to report on */
    /* (the parser checks the whole packet before its first callback, so an error reports nothing) */
    int err = cr_rtcp_twcc_parse(r, &fb, on_status, &a);
    if (err != 0)
        return err;
    p->twcc.fb_in++;
    if (a.known > 0)
        p->twcc.last_fb_us = w->now_us;
    if (a.n == 0)
        return 0;
    /* The walk summed the deltas from 0; they count from the reference time (64 ms units, section 3.1). */
    for (size_t i = 0; i < a.n; i++)
        w->twcc_pkts[i].arrival_us += (uint64_t)((int64_t)fb.reference_time * 64000);
    sort_by_send(w->twcc_pkts, a.n);
    normalise(&p->twcc, w->twcc_pkts, a.n);
    cr__sched_on_twcc(w, p, w->twcc_pkts, a.n);
    return 0;
}
