#include "cr_bench_ogg.h"

#include <string.h>

#include "cr_err.h"

#define OGG_HDR 27 /* RFC 3533 section 6: fixed part of a page header */

void cr_bench_ogg_init(cr_bench_ogg_t *o, const uint8_t *buf, size_t len)
{
    memset(o, 0, sizeof(*o));
    o->buf = buf;
    o->len = len;
}

/* Loads the page at o->pos. Returns 1, 0 at the end, or CR_EMALFORMED. */
static int load_page(cr_bench_ogg_t *o)
{
    if (o->pos == o->len)
        return 0;
    if (o->len - o->pos < OGG_HDR)
        return CR_EMALFORMED;
    const uint8_t *p = o->buf + o->pos;
    if (memcmp(p, "OggS", 4) != 0 || p[4] != 0)
        return CR_EMALFORMED;
    unsigned n = p[26];
    if (o->len - o->pos - OGG_HDR < n)
        return CR_EMALFORMED;
    size_t body = 0;
    for (unsigned i = 0; i < n; i++)
        body += p[OGG_HDR + i];
    if (o->len - o->pos - OGG_HDR - n < body)
        return CR_EMALFORMED;
    o->segs = p + OGG_HDR;
    o->n_segs = n;
    o->seg = 0;
    o->data_off = o->pos + OGG_HDR + n;
    o->pos = o->data_off + body;
    return 1;
}

int cr_bench_ogg_next(cr_bench_ogg_t *o, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int too_big = 0;
    for (;;) {
        while (o->seg == o->n_segs) {
            int r = load_page(o);
            if (r <= 0)
                return r;
        }
        unsigned lace = o->segs[o->seg++];
        if (n + lace > cap || n + lace > CR_BENCH_OGG_MAX_PACKET)
            too_big = 1;
        else
            memcpy(out + n, o->buf + o->data_off, lace);
        n += lace;
        o->data_off += lace;
        if (lace < 255) { /* a lacing value below 255 ends the packet (section 5) */
            if (too_big)
                return CR_ETOOBIG;
            *len = n;
            return 1;
        }
    }
}

int cr_bench_opus_is_header(const uint8_t *pkt, size_t len)
{
    return len >= 8 && (memcmp(pkt, "OpusHead", 8) == 0 || memcmp(pkt, "OpusTags", 8) == 0);
}
