/*
 * Per-subscriber sequence number and timestamp rewriting.
 *
 * Each subscriber stream has its own SSRC, sequence space and timestamp space. While the source
 * stays the same, output = input + offset. When the source changes (the publisher reconnects with a
 * new SSRC, or a subscriber switches simulcast layer), the offsets are recomputed so that the output
 * sequence continues at last + 1 and the timestamp advances by the wall-clock time elapsed since the
 * last packet: a receiver sees one continuous stream and never resets its decoder or jitter buffer.
 */
#ifndef CR_REWRITE_H
#define CR_REWRITE_H

#include <stdint.h>

typedef struct cr_rewriter {
    uint32_t out_ssrc;
    uint32_t clock_rate; /* Hz, for converting elapsed wall time into timestamp units */
    uint32_t src_ssrc;   /* current source */
    uint16_t seq_off;    /* out_seq = in_seq + seq_off */
    uint32_t ts_off;     /* out_ts = in_ts + ts_off */
    uint16_t last_seq;   /* highest output sequence number sent */
    uint32_t last_ts;    /* output timestamp of that packet */
    uint64_t last_us;    /* when it was sent */
    uint8_t started;     /* a packet has been mapped */
    uint8_t rebase;      /* the next packet starts a new source mapping */
} cr_rewriter_t;

/**
 * Initialises r for a subscriber stream with SSRC out_ssrc. The first output packet gets sequence
 * number init_seq and timestamp init_ts (callers pass random values, RFC 3550 section 5.1).
 */
void cr_rewriter_init(cr_rewriter_t *r, uint32_t out_ssrc, uint32_t clock_rate, uint16_t init_seq,
                      uint32_t init_ts);

/** Forces the next mapped packet to start a new source mapping (layer switch), even if its SSRC is unchanged. */
void cr_rewriter_switch(cr_rewriter_t *r);

/**
 * Maps one packet. A packet whose SSRC differs from the current source, or the first after
 * cr_rewriter_switch(), rebases the offsets. Packets older than the rebase point from the same source
 * map with the current offsets. now_us is the monotonic time of sending.
 */
void cr_rewriter_map(cr_rewriter_t *r, uint32_t in_ssrc, uint16_t in_seq, uint32_t in_ts,
                     uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts);

/**
 * Maps an output sequence number (from a subscriber's NACK) back to the current source's sequence
 * number. Returns 0 and sets *in_seq, or CR_ENOTFOUND before the first packet.
 */
int cr_rewriter_unmap_seq(const cr_rewriter_t *r, uint16_t out_seq, uint16_t *in_seq);

/** Maps a source RTP timestamp to the output timestamp space (for sender reports). */
static inline uint32_t cr_rewriter_map_ts(const cr_rewriter_t *r, uint32_t in_ts)
{
    return in_ts + r->ts_off;
}

#endif
