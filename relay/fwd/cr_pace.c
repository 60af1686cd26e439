/*
 * Pacing of everything the relay sends toward subscribers (DESIGN.md, "Pacing"): each packet is
 * charged to its classroom's and its school's token buckets (relay/sched/cr_pacer.h) in a priority
 * band, audio > RTCP > retransmissions > keyframes > delta frames.
 *
 * The fast path costs one bucket check: while nothing of the school waits and both buckets hold the
 * packet, it is written straight into the send batch and leaves in this loop turn's sendmmsg, as it
 * would without a pacer. Otherwise it is written, in the clear, into a slot of the worker's
 * packet pool (allocated once at start: the packet path never allocates) and its slot number waits
 * in the pacer; an RTP packet is protected (and given its transport-wide sequence number) only when
 * it leaves, so that the numbers leave in order even when a higher band overtakes it.
 * cr__pace_run, on every loop turn and on a timerfd armed for the pacer's next deadline, moves what
 * the buckets allow into the send batch, pointing at the slot, which flush returns to the pool. Video
 * that waited too long, or was pushed out by audio, is dropped and counted (drop_pacer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cr_be.h"
#include "cr_err.h"
#include "cr_rtp.h"
#include "cr_worker_int.h"

#define PACE_OUT 64          /* items per cr_pacer_dequeue call */
#define TIMER_SLACK_US 50    /* a deadline this close is served now rather than by the timer */
#define DROPPED_SLOTS 8192   /* remembered dropped packets (a few hundred ms of drops at most rates) */
#define SENT_SLOTS 32768     /* send times remembered (about a second at 30k packets/s) */

/* Packets are remembered by (SSRC << 16 | seq) + 1, 0 meaning none, in hashed tables of slots. */
static uint64_t pkt_key(uint32_t ssrc, uint16_t seq)
{
    return ((uint64_t)ssrc << 16 | seq) + 1;
}

static uint32_t pkt_hash(uint32_t ssrc, uint16_t seq, uint32_t slots)
{
    return ((ssrc * 2654435761u) ^ (seq * 40503u)) % slots;
}

/* The SSRC and sequence number of the RTP packet in buf (its header is in clear under SRTP);
 * 0 for RTCP or a runt. */
static int rtp_id(const uint8_t *buf, size_t len, uint32_t *ssrc, uint16_t *seq)
{
    if (len < 12 || (buf[1] >= 192 && buf[1] <= 223))
        return 0;
    *ssrc = cr__rd32(buf + 8);
    *seq = cr__rd16(buf + 2);
    return 1;
}

/* The key of the RTP packet in a slot and its hash in the dropped/waiting tables, or 0. */
static uint64_t slot_key(const cr__pace_slot_t *ps, uint32_t *h)
{
    uint32_t ssrc;
    uint16_t seq;
    if (!rtp_id(ps->buf, ps->len, &ssrc, &seq))
        return 0;
    *h = pkt_hash(ssrc, seq, DROPPED_SLOTS);
    return pkt_key(ssrc, seq);
}

/* A slot leaves the pacer (sent or dropped): it no longer waits. */
static void unwait(cr__wsched_t *s, uint32_t slot)
{
    uint32_t h;
    uint64_t k = slot_key(&s->pool[slot], &h);
    if (k != 0 && s->waiting[h] == k)
        s->waiting[h] = 0;
}

/* Remembers the RTP packet of a slot the pacer drops, then returns the slot to the pool. */
static void drop_slot(struct cr_worker *w, uint32_t slot)
{
    cr__wsched_t *s = &w->sch;
    uint32_t h;
    uint64_t k = slot_key(&s->pool[slot], &h);
    unwait(s, slot);
    if (k != 0)
        s->dropped[h] = k;
    CR_STAT_ADD(w, drop_pacer, 1);
    cr__pace_release(w, slot);
}

int cr__pace_was_dropped(const struct cr_worker *w, uint32_t ssrc, uint16_t seq)
{
    const cr__wsched_t *s = &w->sch;
    return s->dropped != NULL && s->dropped[pkt_hash(ssrc, seq, DROPPED_SLOTS)] == pkt_key(ssrc, seq);
}

/* Notes when the RTP packet in buf (len bytes, protected) left. */
static void note_sent(cr__wsched_t *s, const uint8_t *buf, size_t len, uint64_t now_us)
{
    uint32_t ssrc;
    uint16_t seq;
    if (s->sent_at == NULL || !rtp_id(buf, len, &ssrc, &seq))
        return;
    uint64_t *e = s->sent_at[pkt_hash(ssrc, seq, SENT_SLOTS)];
    e[0] = pkt_key(ssrc, seq);
    e[1] = now_us;
}

uint64_t cr__pace_sent_at(const struct cr_worker *w, uint32_t ssrc, uint16_t seq)
{
    const cr__wsched_t *s = &w->sch;
    if (s->sent_at == NULL)
        return 0;
    const uint64_t *e = s->sent_at[pkt_hash(ssrc, seq, SENT_SLOTS)];
    return e[0] == pkt_key(ssrc, seq) ? e[1] : 0;
}

int cr__pace_is_waiting(const struct cr_worker *w, uint32_t ssrc, uint16_t seq)
{
    const cr__wsched_t *s = &w->sch;
    return s->waiting != NULL && s->waiting[pkt_hash(ssrc, seq, DROPPED_SLOTS)] == pkt_key(ssrc, seq);
}

int cr__pace_init(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    s->timerfd = -1;
    s->pool_free = CR_SCHED_NONE;
    if (!s->ready)
        return 0;
    cr_pacer_params_t pp;
    cr_pacer_params_default(&pp);
    pp.max_items = CR_PACE_ITEMS;
    pp.room_max_items = CR_PACE_ROOM_ITEMS;
    /* A classroom's bucket runs 10 % above its budget: the allocation fills the budget on average,
     * and a keyframe copied to several of its sessions then drains at about the link's own rate
     * (capacity x 0.9 x 1.1, or just above the estimate) instead of queueing at the average. The
     * school's runs at its budget: a keyframe storm over its classrooms stays under it (goal 5). */
    pp.room_factor = 1.1;
    int err = cr_pacer_init(&s->pacer, &s->topo, &pp);
    if (err != 0)
        return err;
    /* calloc of this size maps zero pages: the pool costs memory only as far as it is used. */
    s->pool = calloc(CR_PACE_POOL, sizeof(*s->pool));
    s->dropped = calloc(DROPPED_SLOTS, sizeof(*s->dropped));
    s->waiting = calloc(DROPPED_SLOTS, sizeof(*s->waiting));
    s->sent_at = calloc(SENT_SLOTS, sizeof(*s->sent_at));
    if (s->pool == NULL || s->dropped == NULL || s->waiting == NULL || s->sent_at == NULL)
        return CR_ENOMEM;
    for (uint32_t i = 0; i < CR_PACE_POOL; i++)
        s->pool[i].next = i + 1 < CR_PACE_POOL ? i + 1 : CR_SCHED_NONE;
    s->pool_free = 0;
    s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->timerfd < 0)
        return CR_EIO;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->timerfd};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) == 0 ? 0 : CR_EIO;
}

void cr__pace_dispose(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    if (s->pacer.items != NULL)
        cr_pacer_dispose(&s->pacer);
    free(s->pool);
    free(s->dropped);
    free(s->waiting);
    free(s->sent_at);
    s->sent_at = NULL;
    s->pool = NULL;
    s->dropped = s->waiting = NULL;
    if (s->timerfd >= 0)
        close(s->timerfd);
    s->timerfd = -1;
}

void cr__pace_release(struct cr_worker *w, uint32_t slot)
{
    cr__wsched_t *s = &w->sch;
    s->pool[slot].next = s->pool_free;
    s->pool_free = slot;
}

uint8_t *cr__pace_begin(struct cr_worker *w, const cr_peer_t *to, int band, size_t est, cr__tx_t *tx)
{
    cr__wsched_t *s = &w->sch;
    tx->slot = CR_SCHED_NONE;
    tx->room = to->sched_room;
    tx->band = (uint8_t)band;
    if (!s->pacing || to->sched_room == CR_SCHED_NONE ||
        cr_pacer_try_send(&s->pacer, to->sched_room, (enum cr_band)band, (uint32_t)est, w->now_us) != 0) {
        tx->buf = cr__worker_send_slot(w);
        return tx->buf;
    }
    uint32_t i = s->pool_free;
    if (i == CR_SCHED_NONE) {
        CR_STAT_ADD(w, drop_pacer, 1);
        return NULL;
    }
    s->pool_free = s->pool[i].next;
    s->pool[i].srtp_pending = 0;
    tx->slot = i;
    tx->buf = s->pool[i].buf;
    return tx->buf;
}

void cr__pace_cancel(struct cr_worker *w, cr__tx_t *tx)
{
    if (tx->slot != CR_SCHED_NONE)
        cr__pace_release(w, tx->slot);
    tx->slot = CR_SCHED_NONE;
}

int cr__pace_commit(struct cr_worker *w, const cr_peer_t *to, cr__tx_t *tx, size_t len, uint64_t recv_us)
{
    cr__wsched_t *s = &w->sch;
    if (tx->slot == CR_SCHED_NONE) {
        if (tx->room != CR_SCHED_NONE)
            note_sent(s, tx->buf, len, w->now_us);
        if (recv_us != 0)
            cr__worker_send_commit_media(w, to, len);
        else
            cr__worker_send_commit(w, to, len);
        if (!s->pacing && tx->room != CR_SCHED_NONE) {
            /* No pacer to count it: the links' actual rates still show what was sent. */
            cr_room_t *r = cr_topo_room(&s->topo, tx->room);
            cr_link_t *sl = &cr_topo_school(&s->topo, r->school)->link;
            r->link.sent_bytes += len;
            r->link.sent_packets++;
            sl->sent_bytes += len;
            sl->sent_packets++;
        }
        return 0;
    }
    cr__pace_slot_t *ps = &s->pool[tx->slot];
    ps->len = (uint32_t)len;
    ps->recv_us = recv_us;
    ps->addr_len = to->addr_len;
    memcpy(&ps->addr, &to->addr, to->addr_len);
    cr_pacer_out_t ev;
    /* (a packet protected on release is charged its SRTP tag now: at most 16 bytes, either profile) */
    uint32_t charge = (uint32_t)len + (ps->srtp_pending ? 16u : 0u);
    int r = cr_pacer_enqueue(&s->pacer, tx->room, (enum cr_band)tx->band, tx->slot, charge, w->now_us, &ev);
    if (r >= 0) {
        uint32_t h;
        uint64_t k = slot_key(ps, &h);
        if (k != 0)
            s->waiting[h] = k;
    }
    if (r == 1)
        drop_slot(w, ev.handle); /* queued video pushed out by audio or RTCP */
    else if (r < 0)
        drop_slot(w, tx->slot);
    tx->slot = CR_SCHED_NONE;
    return r >= 0;
}

int cr__pace_stream_band(const struct cr_worker *w, const cr_sub_stream_t *ss, int band)
{
    if (ss->q_until_us > w->now_us && ss->q_band > band)
        return ss->q_band;
    return band;
}

void cr__pace_stream_queued(const struct cr_worker *w, cr_sub_stream_t *ss, int band)
{
    if (ss->q_until_us <= w->now_us || band > ss->q_band)
        ss->q_band = (uint8_t)band;
    ss->q_until_us = w->now_us + w->sch.pacer.p.max_wait_us;
}

/* Protects an RTP packet the pacer releases (written in the clear by send_rtp): its subscriber is
 * found by address and must still own the packet's SSRC (it may have left while the packet waited);
 * a transport-cc subscriber's packet gets its transport seq now, so the numbers leave in order. */
static int protect_on_release(struct cr_worker *w, cr__pace_slot_t *ps)
{
    cr_peer_t *p = cr__worker_find_addr(w, &ps->addr);
    if (p == NULL || p->state != CR_PEER_CONNECTED || p->srtp == NULL || ps->len < CR_RTP_HDR_MIN)
        return CR_EINVAL;
    uint32_t ssrc = cr__rd32(ps->buf + 8);
    int owned = 0;
    for (unsigned i = 0; i < p->n_sub; i++)
        owned |= p->sub[i].ssrc == ssrc;
    if (!owned)
        return CR_EINVAL;
    int twcc = p->twcc.hist != NULL && (ps->buf[0] & 0x10) != 0 && ps->len >= CR_RTP_HDR_TSEQ;
    if (twcc)
        cr_rtp_set_tseq(ps->buf, p->twcc.next_tseq);
    size_t len = ps->len;
    if (cr_srtp_protect(p->srtp, ps->buf, &len, CR_PKT_BUF) != 0)
        return CR_EIO;
    ps->len = (uint32_t)len;
    ps->srtp_pending = 0;
    if (twcc)
        cr__twcc_sent(w, p, len);
    return 0;
}

/* Arms the timer for the pacer's next deadline, unless it already is (or nothing waits). */
static void arm(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    uint64_t next = cr_pacer_next_us(&s->pacer);
    if (next == UINT64_MAX || (s->timer_at != 0 && s->timer_at <= next && s->timer_at > w->now_us))
        return;
    if (next < w->now_us + TIMER_SLACK_US)
        next = w->now_us + TIMER_SLACK_US;
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(next / 1000000u), .tv_nsec = (long)(next % 1000000u) * 1000}};
    if (timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        s->timer_at = next;
}

void cr__pace_run(struct cr_worker *w)
{
    cr__wsched_t *s = &w->sch;
    if (!s->ready || s->pacer.n_queued == 0)
        return;
    cr_pacer_out_t out[PACE_OUT];
    int n;
    do {
        n = cr_pacer_dequeue(&s->pacer, w->now_us, out, PACE_OUT);
        for (int i = 0; i < n; i++) {
            if (out[i].dropped) {
                drop_slot(w, out[i].handle);
            } else {
                unwait(s, out[i].handle);
                if (s->pool[out[i].handle].srtp_pending && protect_on_release(w, &s->pool[out[i].handle]) != 0) {
                    cr__pace_release(w, out[i].handle); /* its subscriber is gone */
                    continue;
                }
                note_sent(s, s->pool[out[i].handle].buf, s->pool[out[i].handle].len, w->now_us);
                cr__worker_send_pooled(w, out[i].handle);
                CR_STAT_ADD(w, paced, 1);
            }
        }
    } while (n == PACE_OUT);
    if (s->timer_at != 0 && s->timer_at <= w->now_us)
        s->timer_at = 0; /* it fired (or is about to): re-arm for what is left */
    arm(w);
}
