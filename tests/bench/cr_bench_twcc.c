#include "cr_bench_twcc.h"

#include <string.h>

#include "cr_err.h"
#include "cr_rtcp.h"

#define RING_MASK (CR_BENCH_TWCC_RING - 1)
#define REF_TIME_US 64000 /* the reference time's unit (draft section 3.1) */
#define DELTA_US 250      /* a receive delta's unit (draft section 3.1.5) */

void cr_bench_twcc_init(cr_bench_twcc_t *t)
{
    memset(t, 0, sizeof(*t));
}

/*
 * Extends a 16-bit number to 64 bits against the highest seen, taking the nearer of the candidates
 * (a step of less than half the space either way). The first number starts at 2^32 so that packets
 * reordered before it do not go below zero.
 */
static uint64_t unwrap(cr_bench_twcc_t *t, uint16_t seq)
{
    if (!t->started) {
        t->started = 1;
        t->last_seq = ((uint64_t)1 << 32) | seq;
        t->next_seq = t->end_seq = t->last_seq;
        return t->last_seq;
    }
    int16_t step = (int16_t)(uint16_t)(seq - (uint16_t)t->last_seq);
    uint64_t u = (uint64_t)((int64_t)t->last_seq + step);
    if (u > t->last_seq)
        t->last_seq = u;
    return u;
}

void cr_bench_twcc_record(cr_bench_twcc_t *t, uint16_t seq, uint64_t arrival_us)
{
    uint64_t u = unwrap(t, seq);
    if (u < t->next_seq) {
        t->late++;
        return;
    }
    if (u >= t->next_seq + CR_BENCH_TWCC_RING) {
        if (t->pending > 0) {
            /* The ring is spoken for until the next feedback: this one cannot be reported. */
            t->overflow++;
            return;
        }
        /* Nothing is waiting: a jump (a burst lost whole) restarts the window here, unreported. */
        t->next_seq = t->end_seq = u;
    }
    unsigned i = (unsigned)(u & RING_MASK);
    if (t->received[i]) {
        t->duplicate++;
        return;
    }
    t->received[i] = 1;
    t->arrival_us[i] = arrival_us;
    t->pending++;
    t->recorded++;
    if (u + 1 > t->end_seq)
        t->end_seq = u + 1;
}

/* The low 24 bits of a reference time, as the signed value the feedback header holds. */
static int32_t ref_time_24(uint64_t ref)
{
    int32_t r = (int32_t)(ref & 0xFFFFFF);
    return (r & 0x800000) ? r - 0x1000000 : r;
}

int cr_bench_twcc_build(cr_bench_twcc_t *t, uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                        uint32_t media_ssrc)
{
    if (t->pending == 0)
        return 0;
    cr_rtcp_twcc_status_t st[CR_BENCH_TWCC_RING];
    uint64_t u = t->next_seq;
    while (!t->received[u & RING_MASK])
        u++; /* a received number exists below end_seq: pending > 0 */
    /*
     * Deltas are differences of arrival times truncated to 250 us ticks, never of rounded intervals,
     * so the sender's running sum stays exact however many packets a feedback covers. The first delta
     * is from the reference time: 0..255 ticks, as 64 ms is 256 ticks.
     */
    uint64_t ref = t->arrival_us[u & RING_MASK] / REF_TIME_US;
    int64_t prev = (int64_t)(ref * (REF_TIME_US / DELTA_US));
    unsigned n = 0, got = 0;
    for (u = t->next_seq; u < t->end_seq; u++, n++) {
        unsigned i = (unsigned)(u & RING_MASK);
        st[n].received = t->received[i];
        st[n].delta_250us = 0;
        if (!t->received[i])
            continue;
        int64_t ticks = (int64_t)(t->arrival_us[i] / DELTA_US), d = ticks - prev;
        if (d < INT16_MIN || d > INT16_MAX)
            break; /* cannot be encoded: the next feedback starts with this packet */
        st[n].delta_250us = (int32_t)d;
        prev = ticks;
        got++;
    }
    cr_rtcp_twcc_t fb = {.media_ssrc = media_ssrc, .base_seq = (uint16_t)t->next_seq,
                         .status_count = (uint16_t)n, .reference_time = ref_time_24(ref),
                         .fb_pkt_count = t->fb_count};
    int len = cr_rtcp_write_twcc(buf, cap, sender_ssrc, &fb, st);
    if (len < 0)
        return len;
    for (u = t->next_seq; u < t->next_seq + n; u++)
        t->received[u & RING_MASK] = 0;
    t->next_seq += n;
    t->pending -= got;
    t->fb_count++;
    t->built++;
    return len;
}
