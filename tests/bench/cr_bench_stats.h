/*
 * What a benchmark receiver counts per RTP stream, without decoding: unique packets, duplicates, gaps
 * (sequence numbers skipped when a later one arrived: what a receiver NACKs), gaps later filled by a
 * retransmission, and what is still missing (RFC 3550 appendix A.3 "expected - received", but counting
 * each sequence number once); interarrival jitter (appendix A.8); and the report block of a receiver
 * report. Plus a latency histogram: 1 us buckets to 100 ms, 1 ms buckets to 10.1 s.
 *
 * Pure: no clock, no I/O, no allocation; times are parameters.
 */
#ifndef CR_BENCH_STATS_H
#define CR_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cr_rtcp.h"

#define CR_BENCH_SEQ_WINDOW 4096 /* sequence numbers remembered for late and duplicate detection */

typedef struct cr_bench_seq {
    uint8_t started;
    uint32_t base; /* extended sequence number of the first packet */
    uint32_t max;  /* highest extended sequence number */
    uint64_t unique;     /* distinct sequence numbers received */
    uint64_t duplicates; /* a sequence number received again */
    uint64_t gaps;       /* sequence numbers found missing when a later one arrived */
    uint64_t recovered;  /* of those, received afterwards (retransmitted or reordered) */
    uint64_t too_late;   /* older than the window or than the first packet: not counted */
    uint8_t seen[CR_BENCH_SEQ_WINDOW / 8];
    /* Receiver report state. */
    uint32_t clock_rate;
    uint8_t have_transit;
    uint32_t last_transit;
    uint32_t jitter_q4; /* jitter * 16, in timestamp units */
    uint64_t expected_prior, unique_prior;
} cr_bench_seq_t;

/** Initialises a tracker for a stream with the given RTP clock rate. */
void cr_bench_seq_init(cr_bench_seq_t *t, uint32_t clock_rate);

/**
 * Records the arrival of seq. Sequence numbers that this arrival shows to be missing are written to
 * missing (at most max of them, the oldest first) for a NACK; returns how many were written.
 */
size_t cr_bench_seq_push(cr_bench_seq_t *t, uint16_t seq, uint16_t *missing, size_t max);

/** Updates the interarrival jitter with a packet's RTP timestamp and arrival time (RFC 3550 A.8). */
void cr_bench_seq_jitter(cr_bench_seq_t *t, uint32_t rtp_ts, uint64_t arrival_us);

/** Sequence numbers expected so far (highest - first + 1), 0 before the first packet. */
uint64_t cr_bench_seq_expected(const cr_bench_seq_t *t);

/** Sequence numbers expected but never received (never negative). */
uint64_t cr_bench_seq_lost(const cr_bench_seq_t *t);

/** Fills a receiver report block for ssrc and starts the next reporting interval. */
void cr_bench_seq_report(cr_bench_seq_t *t, uint32_t ssrc, cr_rtcp_report_block_t *b);

#define CR_BENCH_HIST_BUCKETS 100000 /* 1 us buckets: 0 .. 99.999 ms */
#define CR_BENCH_HIST_COARSE 10000   /* then 1 ms buckets: 100 ms .. 10.099 s, then overflow */

/** A latency histogram (about 440 KB: allocate it statically or on the heap). */
typedef struct cr_bench_hist {
    uint32_t b[CR_BENCH_HIST_BUCKETS];
    uint32_t coarse[CR_BENCH_HIST_COARSE];
    uint64_t count;
    uint64_t overflow; /* samples >= 10.1 s */
    uint64_t negative; /* samples below 0 (clock stepped); counted in bucket 0 */
    int64_t max_us;
    uint64_t sum_us;
} cr_bench_hist_t;

void cr_bench_hist_add(cr_bench_hist_t *h, int64_t us);

/** Adds every sample of src to dst. */
void cr_bench_hist_merge(cr_bench_hist_t *dst, const cr_bench_hist_t *src);

/**
 * Returns the p-quantile (0 < p <= 1) in microseconds: the smallest bucket value (the lower bound of a
 * 1 ms bucket) with at least p of the samples at or below it; the maximum when it falls in the
 * overflow; -1 with no samples.
 */
int64_t cr_bench_hist_quantile(const cr_bench_hist_t *h, double p);

#endif
