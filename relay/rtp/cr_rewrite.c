#include "cr_rewrite.h"

#include "cr_err.h"
#include "cr_rtp.h"

void cr_rewriter_init(cr_rewriter_t *r, uint32_t out_ssrc, uint32_t clock_rate, uint16_t init_seq,
                      uint32_t init_ts)
{
    *r = (cr_rewriter_t){0};
    r->out_ssrc = out_ssrc;
    r->clock_rate = clock_rate;
    /*
     * The first packet is a rebase like any other, continuing at last_seq + 1; starting one below
     * init_seq makes it come out as init_seq. Its timestamp is init_ts itself (see rewriter_rebase).
     */
    r->last_seq = (uint16_t)(init_seq - 1);
    r->last_ts = init_ts;
    r->rebase = 1;
}

void cr_rewriter_switch(cr_rewriter_t *r)
{
    r->rebase = 1;
}

/*
 * Converts elapsed wall time to timestamp units, modulo 2^32. Splitting whole seconds from the
 * remainder keeps the products inside 64 bits for any clock rate; unsigned wrap-around in the first
 * product only affects bits that the 32-bit timestamp drops anyway.
 */
static uint32_t rewriter_elapsed_ts(uint64_t elapsed_us, uint32_t clock_rate)
{
    uint64_t sec = elapsed_us / 1000000u, frac = elapsed_us % 1000000u;
    return (uint32_t)(sec * clock_rate + frac * clock_rate / 1000000u);
}

/* Computes new offsets so that this packet continues the output stream (see cr_rewrite.h). */
static void rewriter_rebase(cr_rewriter_t *r, uint32_t in_ssrc, uint16_t in_seq, uint32_t in_ts,
                            uint64_t now_us)
{
    uint32_t out_ts = r->last_ts;
    if (r->started) {
        uint64_t elapsed = now_us > r->last_us ? now_us - r->last_us : 0;
        uint32_t step = rewriter_elapsed_ts(elapsed, r->clock_rate);
        /* The timestamp must move forward, or the receiver merges two frames into one. */
        out_ts += step > 0 ? step : 1;
    }
    r->src_ssrc = in_ssrc;
    r->seq_off = (uint16_t)(r->last_seq + 1 - in_seq);
    r->ts_off = out_ts - in_ts;
    r->rebase = 0;
}

void cr_rewriter_map(cr_rewriter_t *r, uint32_t in_ssrc, uint16_t in_seq, uint32_t in_ts,
                     uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts)
{
    int rebased = 0;
    if (r->rebase || !r->started || in_ssrc != r->src_ssrc) {
        rewriter_rebase(r, in_ssrc, in_seq, in_ts, now_us);
        rebased = 1;
    }
    uint16_t seq = (uint16_t)(in_seq + r->seq_off);
    uint32_t ts = in_ts + r->ts_off;
    /*
     * Only a newer packet moves the high-water mark; a reordered older one (also one from before the
     * rebase point) keeps the current offsets and leaves last_* alone, so the next rebase still
     * continues after the highest number a receiver has seen.
     */
    if (rebased || cr_seq_diff(r->last_seq, seq) > 0) {
        r->last_seq = seq;
        r->last_ts = ts;
        r->last_us = now_us;
    }
    r->started = 1;
    *out_seq = seq;
    *out_ts = ts;
}

int cr_rewriter_unmap_seq(const cr_rewriter_t *r, uint16_t out_seq, uint16_t *in_seq)
{
    if (!r->started)
        return CR_ENOTFOUND;
    *in_seq = (uint16_t)(out_seq - r->seq_off);
    return 0;
}
