/*
 * An Ogg reader (RFC 3533) for the synthetic publisher's Opus track (RFC 7845): walks the pages of a
 * file held in memory and returns its packets, joining packets that continue across pages. Page CRCs are
 * not checked (the file is produced locally by GStreamer); every length is checked before it is used.
 */
#ifndef CR_BENCH_OGG_H
#define CR_BENCH_OGG_H

#include <stddef.h>
#include <stdint.h>

#define CR_BENCH_OGG_MAX_PACKET 65536 /* larger packets are refused (Opus packets are < 1275 bytes) */

typedef struct cr_bench_ogg {
    const uint8_t *buf; /* borrowed */
    size_t len;
    size_t pos;          /* offset of the next page */
    const uint8_t *segs; /* lacing values of the current page */
    unsigned n_segs, seg;
    size_t data_off;     /* offset of the current page's next segment data */
} cr_bench_ogg_t;

/** Starts reading buf (borrowed; must outlive the reader). */
void cr_bench_ogg_init(cr_bench_ogg_t *o, const uint8_t *buf, size_t len);

/**
 * Copies the next packet into out (cap bytes) and sets *len. Returns 1, 0 at the end of the stream (a
 * packet left unfinished at the end is dropped), CR_EMALFORMED for a bad capture pattern, version or a
 * page that runs past the end, or CR_ETOOBIG when the packet does not fit in cap.
 */
int cr_bench_ogg_next(cr_bench_ogg_t *o, uint8_t *out, size_t cap, size_t *len);

/** Returns 1 if pkt is an Opus header packet ("OpusHead" or "OpusTags", RFC 7845 section 5). */
int cr_bench_opus_is_header(const uint8_t *pkt, size_t len);

#endif
