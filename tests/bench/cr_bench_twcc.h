/*
 * Transport-cc feedback from a benchmark subscriber, like a browser's receiver sends it
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): it records the transport-wide sequence number
 * and arrival time of every packet received, and builds feedback packets that each cover everything
 * since the previous one.
 *
 * Deterministic: arrival and build times are parameters, nothing reads a clock, so the unit test
 * replays exact arrivals. Memory is bounded: the packets between two feedbacks are held in a ring of
 * CR_BENCH_TWCC_RING slots (about 9 kB per subscriber); what does not fit is counted, not stored.
 */
#ifndef CR_BENCH_TWCC_H
#define CR_BENCH_TWCC_H

#include <stddef.h>
#include <stdint.h>

#define CR_BENCH_TWCC_RING 1024 /* a power of two; the most packets one feedback can cover */

typedef struct cr_bench_twcc {
    int started;
    uint64_t next_seq; /* unwrapped: the first sequence number not yet reported */
    uint64_t end_seq;  /* one past the highest sequence number received and not yet reported */
    uint64_t last_seq; /* unwrapped value of the highest sequence number seen, for unwrapping */
    unsigned pending;  /* packets received and not yet reported */
    uint8_t fb_count;  /* feedback packet count of the next feedback (wraps at 256) */
    uint64_t arrival_us[CR_BENCH_TWCC_RING];
    uint8_t received[CR_BENCH_TWCC_RING];
    /* Counters. */
    uint64_t recorded;  /* arrivals stored */
    uint64_t late;      /* arrivals for a number already reported (or before the first): ignored */
    uint64_t duplicate; /* a number already stored: the first arrival is kept */
    uint64_t overflow;  /* arrivals beyond the ring: not stored, reported as lost if ever covered */
    uint64_t built;     /* feedback packets built */
} cr_bench_twcc_t;

/** Clears t (no arrival, feedback count 0). */
void cr_bench_twcc_init(cr_bench_twcc_t *t);

/**
 * Records the arrival of the packet with transport-wide sequence number seq (16 bits, unwrapped here
 * against the highest seen) at arrival_us (any microsecond clock, the same for every call).
 */
void cr_bench_twcc_record(cr_bench_twcc_t *t, uint16_t seq, uint64_t arrival_us);

/** Packets received and not yet reported. */
static inline unsigned cr_bench_twcc_pending(const cr_bench_twcc_t *t)
{
    return t->pending;
}

/**
 * Builds the next feedback packet into buf (cap bytes) from sender_ssrc about media_ssrc: base is the
 * first sequence number not yet reported, up to the highest received; numbers not received are
 * reported lost; the reference time is the first received packet's arrival (in 64 ms units, 24 bits),
 * and deltas are in 250 us units. A packet more than 8.19 s from the previous one ends the feedback
 * before it (the next feedback starts there). Everything covered counts as reported: later arrivals for
 * those numbers are ignored. Returns the bytes written, 0 when nothing is pending (nothing written), or
 * CR_ETOOBIG (nothing reported: cap >= 20 + 3 * CR_BENCH_TWCC_RING always suffices).
 */
int cr_bench_twcc_build(cr_bench_twcc_t *t, uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                        uint32_t media_ssrc);

#endif
