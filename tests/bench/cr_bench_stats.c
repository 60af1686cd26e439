#include "cr_bench_stats.h"

#include <string.h>

#include "cr_rtp.h"

void cr_bench_seq_init(cr_bench_seq_t *t, uint32_t clock_rate)
{
    memset(t, 0, sizeof(*t));
    t->clock_rate = clock_rate;
}

static int seen_get(const cr_bench_seq_t *t, uint32_t ext)
{
    uint32_t i = ext % CR_BENCH_SEQ_WINDOW;
    return (t->seen[i / 8] >> (i % 8)) & 1;
}

static void seen_set(cr_bench_seq_t *t, uint32_t ext, int v)
{
    uint32_t i = ext % CR_BENCH_SEQ_WINDOW;
    if (v)
        t->seen[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        t->seen[i / 8] &= (uint8_t)~(1u << (i % 8));
}

size_t cr_bench_seq_push(cr_bench_seq_t *t, uint16_t seq, uint16_t *missing, size_t max)
{
    size_t n_missing = 0;
    if (!t->started) {
        t->started = 1;
        /* Start extended numbers at 65536 so that a few packets older than the first stay positive. */
        t->base = t->max = 65536u + seq;
        seen_set(t, t->max, 1);
        t->unique = 1;
        return 0;
    }
    int16_t d = cr_seq_diff((uint16_t)t->max, seq);
    uint32_t ext = t->max + (uint32_t)(int32_t)d;
    if (d > 0) {
        uint32_t skipped = (uint32_t)d - 1;
        t->gaps += skipped;
        if (skipped >= CR_BENCH_SEQ_WINDOW) {
            memset(t->seen, 0, sizeof(t->seen));
        } else {
            for (uint32_t s = t->max + 1; s < ext; s++) {
                seen_set(t, s, 0);
                if (n_missing < max)
                    missing[n_missing++] = (uint16_t)s;
            }
        }
        t->max = ext;
        seen_set(t, ext, 1);
        t->unique++;
    } else if (d == 0) {
        t->duplicates++;
    } else if ((uint32_t)(-d) >= CR_BENCH_SEQ_WINDOW || ext < t->base) {
        t->too_late++;
    } else if (seen_get(t, ext)) {
        t->duplicates++;
    } else {
        seen_set(t, ext, 1);
        t->unique++;
        t->recovered++;
    }
    return n_missing;
}

void cr_bench_seq_jitter(cr_bench_seq_t *t, uint32_t rtp_ts, uint64_t arrival_us)
{
    uint32_t arrival = (uint32_t)(arrival_us * t->clock_rate / 1000000u);
    uint32_t transit = arrival - rtp_ts;
    if (t->have_transit) {
        int32_t d = (int32_t)(transit - t->last_transit);
        if (d < 0)
            d = -d;
        /* J += (|D| - J) / 16, kept as J * 16 (RFC 3550 A.8) */
        t->jitter_q4 += (uint32_t)d - ((t->jitter_q4 + 8) >> 4);
    }
    t->have_transit = 1;
    t->last_transit = transit;
}

uint64_t cr_bench_seq_expected(const cr_bench_seq_t *t)
{
    return t->started ? (uint64_t)(t->max - t->base) + 1 : 0;
}

uint64_t cr_bench_seq_lost(const cr_bench_seq_t *t)
{
    uint64_t e = cr_bench_seq_expected(t);
    return e > t->unique ? e - t->unique : 0;
}

void cr_bench_seq_report(cr_bench_seq_t *t, uint32_t ssrc, cr_rtcp_report_block_t *b)
{
    uint64_t expected = cr_bench_seq_expected(t);
    uint64_t lost = cr_bench_seq_lost(t);
    uint64_t exp_int = expected - t->expected_prior;
    uint64_t rcv_int = t->unique - t->unique_prior;
    memset(b, 0, sizeof(*b));
    b->ssrc = ssrc;
    b->cum_lost = lost > 0x7fffff ? 0x7fffff : (int32_t)lost;
    b->fraction_lost = (exp_int == 0 || rcv_int >= exp_int) ? 0 : (uint8_t)(((exp_int - rcv_int) << 8) / exp_int);
    b->ext_high_seq = t->max - 65536u; /* the cycle count of the real stream starts at 0 */
    b->jitter = t->jitter_q4 >> 4;
    t->expected_prior = expected;
    t->unique_prior = t->unique;
}

void cr_bench_hist_add(cr_bench_hist_t *h, int64_t us)
{
    h->count++;
    if (us < 0) {
        h->negative++;
        us = 0;
    }
    if (us > h->max_us)
        h->max_us = us;
    h->sum_us += (uint64_t)us;
    if (us < CR_BENCH_HIST_BUCKETS)
        h->b[us]++;
    else if ((us - CR_BENCH_HIST_BUCKETS) / 1000 < CR_BENCH_HIST_COARSE)
        h->coarse[(us - CR_BENCH_HIST_BUCKETS) / 1000]++;
    else
        h->overflow++;
}

void cr_bench_hist_merge(cr_bench_hist_t *dst, const cr_bench_hist_t *src)
{
    for (size_t i = 0; i < CR_BENCH_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    for (size_t i = 0; i < CR_BENCH_HIST_COARSE; i++)
        dst->coarse[i] += src->coarse[i];
    dst->count += src->count;
    dst->overflow += src->overflow;
    dst->negative += src->negative;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

int64_t cr_bench_hist_quantile(const cr_bench_hist_t *h, double p)
{
    if (h->count == 0)
        return -1;
    uint64_t want = (uint64_t)(p * (double)h->count + 0.999999);
    if (want == 0)
        want = 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < CR_BENCH_HIST_BUCKETS; i++) {
        acc += h->b[i];
        if (acc >= want)
            return (int64_t)i;
    }
    for (size_t i = 0; i < CR_BENCH_HIST_COARSE; i++) {
        acc += h->coarse[i];
        if (acc >= want)
            return CR_BENCH_HIST_BUCKETS + (int64_t)i * 1000;
    }
    return h->max_us;
}
