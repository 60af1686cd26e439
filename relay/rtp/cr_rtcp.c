#include "cr_rtcp.h"

#include <string.h>

#include "cr_err.h"
#include "cr_be.h"

#define RTCP_HDR_LEN 4
#define RTCP_SR_LEN 28 /* header, sender SSRC, 20 bytes of sender info (RFC 3550 section 6.4.1) */
#define RTCP_RR_LEN 8  /* header, sender SSRC (RFC 3550 section 6.4.2) */
#define RTCP_BLOCK_LEN 24
#define RTCP_FB_LEN 12   /* header, sender SSRC, media SSRC (RFC 4585 section 6.1) */
#define RTCP_TWCC_LEN 20 /* feedback header + base seq, count, reference time, fb count */
#define RTCP_REMB_LEN 20 /* feedback header + "REMB", num SSRC, exponent and mantissa */
#define RTCP_MAX_LEN (65536u * 4) /* the 16-bit length field counts 32-bit words minus one */

int cr_rtcp_next(const uint8_t **src, const uint8_t *end, cr_rtcp_pkt_t *out)
{
    const uint8_t *p = *src;
    if (p == NULL || p >= end)
        return 0;
    size_t avail = (size_t)(end - p);
    if (avail < RTCP_HDR_LEN)
        return CR_ETRUNC;
    if ((p[0] >> 6) != 2)
        return CR_EMALFORMED;
    size_t len = ((size_t)cr__rd16(p + 2) + 1) * 4;
    if (len > avail)
        return CR_ETRUNC;
    /* RFC 3550 section 6.4.1: the last octet counts the padding, itself included. */
    if (p[0] & 0x20) {
        uint8_t pad = p[len - 1];
        if (pad == 0 || pad > len - RTCP_HDR_LEN)
            return CR_EMALFORMED;
    }
    out->type = p[1];
    out->count = p[0] & 0x1F;
    out->data = p;
    out->len = len;
    *src = p + len;
    return 1;
}

/*
 * Checks pkt's type (and its count/FMT field when fmt >= 0) and returns the length of its content
 * without padding, so parsers never read padding as report blocks or FCI. The header bytes are the
 * authority, not pkt->type, so a hand-built pkt cannot make a parser misread one type as another.
 */
static int rtcp_body(const cr_rtcp_pkt_t *pkt, uint8_t type, int fmt, size_t *body)
{
    if (pkt == NULL || pkt->data == NULL || pkt->len < RTCP_HDR_LEN)
        return CR_ETRUNC;
    const uint8_t *p = pkt->data;
    if (p[1] != type || (fmt >= 0 && (p[0] & 0x1F) != fmt))
        return CR_EINVAL;
    size_t len = pkt->len;
    if (p[0] & 0x20) {
        uint8_t pad = p[len - 1];
        if (pad == 0 || pad > len - RTCP_HDR_LEN)
            return CR_EMALFORMED;
        len -= pad;
    }
    *body = len;
    return 0;
}

int cr_rtcp_sr_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_sr_t *out)
{
    size_t body;
    int err = rtcp_body(pkt, CR_RTCP_SR, -1, &body);
    if (err != 0)
        return err;
    if (body < RTCP_SR_LEN)
        return CR_ETRUNC;
    const uint8_t *p = pkt->data;
    out->ssrc = cr__rd32(p + 4);
    out->ntp = ((uint64_t)cr__rd32(p + 8) << 32) | cr__rd32(p + 12);
    out->rtp_ts = cr__rd32(p + 16);
    out->packet_count = cr__rd32(p + 20);
    out->octet_count = cr__rd32(p + 24);
    return 0;
}

/* Sign-extends a 24-bit two's complement value. */
static int32_t rtcp_s24(uint32_t v)
{
    return (v & 0x800000) ? (int32_t)(v | 0xFF000000u) : (int32_t)v;
}

int cr_rtcp_report_block(const cr_rtcp_pkt_t *pkt, unsigned i, uint32_t *sender_ssrc,
                         cr_rtcp_report_block_t *out)
{
    size_t body, base;
    int err;
    if (pkt != NULL && pkt->data != NULL && pkt->len >= RTCP_HDR_LEN && pkt->data[1] == CR_RTCP_SR) {
        err = rtcp_body(pkt, CR_RTCP_SR, -1, &body);
        base = RTCP_SR_LEN;
    } else {
        err = rtcp_body(pkt, CR_RTCP_RR, -1, &body);
        base = RTCP_RR_LEN;
    }
    if (err != 0)
        return err;
    unsigned count = pkt->data[0] & 0x1F;
    if (body < base + (size_t)count * RTCP_BLOCK_LEN)
        return CR_ETRUNC;
    if (sender_ssrc != NULL)
        *sender_ssrc = cr__rd32(pkt->data + 4);
    if (i >= count)
        return CR_ENOTFOUND;
    const uint8_t *b = pkt->data + base + (size_t)i * RTCP_BLOCK_LEN;
    out->ssrc = cr__rd32(b);
    out->fraction_lost = b[4];
    out->cum_lost = rtcp_s24(cr__rd24(b + 5));
    out->ext_high_seq = cr__rd32(b + 8);
    out->jitter = cr__rd32(b + 12);
    out->lsr = cr__rd32(b + 16);
    out->dlsr = cr__rd32(b + 20);
    return 0;
}

int cr_rtcp_fb_ssrcs(const cr_rtcp_pkt_t *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc)
{
    size_t body;
    int err;
    if (pkt != NULL && pkt->data != NULL && pkt->len >= RTCP_HDR_LEN &&
        pkt->data[1] == CR_RTCP_PSFB)
        err = rtcp_body(pkt, CR_RTCP_PSFB, -1, &body);
    else
        err = rtcp_body(pkt, CR_RTCP_RTPFB, -1, &body);
    if (err != 0)
        return err;
    if (body < RTCP_FB_LEN)
        return CR_ETRUNC;
    if (sender_ssrc != NULL)
        *sender_ssrc = cr__rd32(pkt->data + 4);
    if (media_ssrc != NULL)
        *media_ssrc = cr__rd32(pkt->data + 8);
    return 0;
}

int cr_rtcp_nack_parse(const cr_rtcp_pkt_t *pkt, uint16_t *seqs, size_t max)
{
    size_t body;
    int err = rtcp_body(pkt, CR_RTCP_RTPFB, CR_RTCP_RTPFB_NACK, &body);
    if (err != 0)
        return err;
    /* RFC 4585 section 6.2.1: the FCI holds at least one PID + BLP item. */
    if (body < RTCP_FB_LEN + 4)
        return CR_ETRUNC;
    size_t items = (body - RTCP_FB_LEN) / 4;
    size_t n = 0;
    for (size_t k = 0; k < items && n < max; k++) {
        const uint8_t *it = pkt->data + RTCP_FB_LEN + k * 4;
        uint16_t pid = cr__rd16(it);
        uint16_t blp = cr__rd16(it + 2);
        seqs[n++] = pid;
        /* Bit i of the BLP reports the loss of PID + i + 1. */
        for (unsigned b = 0; b < 16 && n < max; b++) {
            if (blp & (1u << b))
                seqs[n++] = (uint16_t)(pid + b + 1);
        }
    }
    return (int)n;
}

int cr_rtcp_fir_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_fir_entry_t *entries, size_t max)
{
    size_t body;
    int err = rtcp_body(pkt, CR_RTCP_PSFB, CR_RTCP_PSFB_FIR, &body);
    if (err != 0)
        return err;
    /* RFC 5104 section 4.3.1.1: one or more 8-byte entries (SSRC, seq nr, 3 reserved bytes). */
    if (body < RTCP_FB_LEN + 8)
        return CR_ETRUNC;
    size_t n = (body - RTCP_FB_LEN) / 8;
    if (n > max)
        n = max;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *e = pkt->data + RTCP_FB_LEN + k * 8;
        entries[k].ssrc = cr__rd32(e);
        entries[k].seq_nr = e[4];
    }
    return (int)n;
}

int cr_rtcp_remb_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_remb_t *out)
{
    size_t body;
    int err = rtcp_body(pkt, CR_RTCP_PSFB, CR_RTCP_PSFB_AFB, &body);
    if (err != 0)
        return err;
    const uint8_t *p = pkt->data;
    /* draft-alvestrand-rmcat-remb-03 section 2.2: an AFB whose FCI starts with "REMB". */
    if (body < RTCP_FB_LEN + 4)
        return CR_ETRUNC;
    if (memcmp(p + RTCP_FB_LEN, "REMB", 4) != 0)
        return CR_EINVAL;
    if (body < RTCP_REMB_LEN)
        return CR_ETRUNC;
    uint8_t num = p[16];
    if (body - RTCP_REMB_LEN < (size_t)num * 4)
        return CR_ETRUNC;
    unsigned exp = p[17] >> 2;
    uint64_t mantissa = ((uint64_t)(p[17] & 0x03) << 16) | cr__rd16(p + 18);
    /* An 18-bit mantissa shifted by up to 63 can exceed 64 bits: saturate instead of wrapping. */
    if (mantissa != 0 && exp > 46 && mantissa > (UINT64_MAX >> exp))
        out->bitrate_bps = UINT64_MAX;
    else
        out->bitrate_bps = mantissa << exp;
    out->num_ssrc = num;
    for (unsigned k = 0; k < num && k < 8; k++)
        out->ssrcs[k] = cr__rd32(p + RTCP_REMB_LEN + k * 4);
    return 0;
}

/*
 * Transport-wide CC feedback, draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1. The
 * packet status chunks come first and the receive deltas after all of them, so the chunks are walked
 * twice: once to find where the deltas start and to check that every delta is present, then again
 * to report each packet with its delta. No callback runs for a packet that fails the first pass.
 */
typedef struct twcc_walk {
    int emit;          /* 0: first pass, count delta bytes; 1: second pass, call cb */
    size_t delta_need; /* first pass: bytes of receive deltas the symbols announce */
    const uint8_t *delta, *delta_end;
    uint16_t seq;
    void (*cb)(void *arg, uint16_t seq, int received, int32_t delta_250us);
    void *arg;
} twcc_walk_t;

/* Symbol 0: not received; 1: received, 1-byte unsigned delta; 2: received, 2-byte signed delta. */
static int twcc_status(twcc_walk_t *w, unsigned sym)
{
    if (sym == 3)
        return CR_EMALFORMED; /* reserved */
    if (!w->emit) {
        w->delta_need += sym; /* the symbol value is also the delta's size in bytes */
        return 0;
    }
    if ((size_t)(w->delta_end - w->delta) < sym)
        return CR_EMALFORMED;
    int32_t d = 0;
    if (sym == 1)
        d = w->delta[0];
    else if (sym == 2)
        d = (int16_t)cr__rd16(w->delta);
    w->delta += sym;
    if (w->cb != NULL)
        w->cb(w->arg, w->seq, sym != 0, d);
    w->seq++;
    return 0;
}

/* Walks the chunks at *p covering count statuses; leaves *p after the last chunk. */
static int twcc_walk_chunks(const uint8_t **p, const uint8_t *end, unsigned count, twcc_walk_t *w)
{
    int err = 0;
    while (count > 0 && err == 0) {
        if (end - *p < 2)
            return CR_EMALFORMED;
        unsigned c = cr__rd16(*p);
        *p += 2;
        if (!(c & 0x8000)) {
            /* Run length chunk: T=0, symbol (2 bits), run length (13 bits). */
            unsigned sym = (c >> 13) & 3, run = c & 0x1FFF;
            for (; run > 0 && count > 0 && err == 0; run--, count--)
                err = twcc_status(w, sym);
        } else if (!(c & 0x4000)) {
            /* Status vector chunk, S=0: fourteen 1-bit symbols, received meaning a small delta. */
            for (int k = 13; k >= 0 && count > 0 && err == 0; k--, count--)
                err = twcc_status(w, (c >> k) & 1);
        } else {
            /* Status vector chunk, S=1: seven 2-bit symbols. */
            for (int k = 6; k >= 0 && count > 0 && err == 0; k--, count--)
                err = twcc_status(w, (c >> (2 * k)) & 3);
        }
    }
    return err;
}

int cr_rtcp_twcc_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_twcc_t *out,
                       void (*cb)(void *arg, uint16_t seq, int received, int32_t delta_250us),
                       void *arg)
{
    size_t body;
    int err = rtcp_body(pkt, CR_RTCP_RTPFB, CR_RTCP_RTPFB_TWCC, &body);
    if (err != 0)
        return err;
    if (body < RTCP_TWCC_LEN)
        return CR_ETRUNC;
    const uint8_t *p = pkt->data, *end = pkt->data + body;
    cr_rtcp_twcc_t t;
    t.media_ssrc = cr__rd32(p + 8);
    t.base_seq = cr__rd16(p + 12);
    t.status_count = cr__rd16(p + 14);
    t.reference_time = rtcp_s24(cr__rd24(p + 16));
    t.fb_pkt_count = p[19];

    twcc_walk_t w = {0};
    const uint8_t *chunks = p + RTCP_TWCC_LEN, *q = chunks;
    err = twcc_walk_chunks(&q, end, t.status_count, &w);
    if (err != 0)
        return err;
    if ((size_t)(end - q) < w.delta_need)
        return CR_EMALFORMED;
    *out = t;

    w = (twcc_walk_t){.emit = 1, .delta = q, .delta_end = end, .seq = t.base_seq, .cb = cb, .arg = arg};
    q = chunks;
    return twcc_walk_chunks(&q, end, t.status_count, &w);
}

/* Writes the common header (RFC 3550 section 6.4.1): V=2, no padding, count or FMT, type, length. */
static void rtcp_hdr(uint8_t *buf, unsigned count, uint8_t type, size_t len)
{
    buf[0] = (uint8_t)(0x80 | (count & 0x1F));
    buf[1] = type;
    cr__wr16(buf + 2, (uint16_t)(len / 4 - 1));
}

int cr_rtcp_write_sr(uint8_t *buf, size_t cap, const cr_rtcp_sr_t *sr)
{
    if (cap < RTCP_SR_LEN)
        return CR_ETOOBIG;
    rtcp_hdr(buf, 0, CR_RTCP_SR, RTCP_SR_LEN);
    cr__wr32(buf + 4, sr->ssrc);
    cr__wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    cr__wr32(buf + 12, (uint32_t)sr->ntp);
    cr__wr32(buf + 16, sr->rtp_ts);
    cr__wr32(buf + 20, sr->packet_count);
    cr__wr32(buf + 24, sr->octet_count);
    return RTCP_SR_LEN;
}

int cr_rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                     const cr_rtcp_report_block_t *blocks, unsigned n)
{
    if (n > 31)
        return CR_EINVAL;
    size_t len = RTCP_RR_LEN + (size_t)n * RTCP_BLOCK_LEN;
    if (cap < len)
        return CR_ETOOBIG;
    rtcp_hdr(buf, n, CR_RTCP_RR, len);
    cr__wr32(buf + 4, sender_ssrc);
    for (unsigned k = 0; k < n; k++) {
        const cr_rtcp_report_block_t *rb = &blocks[k];
        uint8_t *b = buf + RTCP_RR_LEN + (size_t)k * RTCP_BLOCK_LEN;
        cr__wr32(b, rb->ssrc);
        b[4] = rb->fraction_lost;
        /* RFC 3550 section 6.4.1: cumulative loss is 24-bit signed; clamp rather than wrap. */
        int32_t cl = rb->cum_lost;
        if (cl > 0x7FFFFF)
            cl = 0x7FFFFF;
        else if (cl < -0x800000)
            cl = -0x800000;
        cr__wr24(b + 5, (uint32_t)cl & 0xFFFFFF);
        cr__wr32(b + 8, rb->ext_high_seq);
        cr__wr32(b + 12, rb->jitter);
        cr__wr32(b + 16, rb->lsr);
        cr__wr32(b + 20, rb->dlsr);
    }
    return (int)len;
}

int cr_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
    if (cname == NULL)
        return CR_EINVAL;
    size_t n = strnlen(cname, 256);
    if (n > 255)
        return CR_EINVAL;
    /*
     * RFC 3550 section 6.5: a chunk is the SSRC, the items (type, length, text) and a null END item,
     * with more null octets to the next 32-bit boundary; at least one null octet always follows.
     */
    size_t chunk = (4 + 2 + n + 1 + 3) & ~(size_t)3;
    size_t len = RTCP_HDR_LEN + chunk;
    if (cap < len)
        return CR_ETOOBIG;
    rtcp_hdr(buf, 1, CR_RTCP_SDES, len);
    cr__wr32(buf + 4, ssrc);
    buf[8] = 1; /* CNAME */
    buf[9] = (uint8_t)n;
    memcpy(buf + 10, cname, n);
    memset(buf + 10 + n, 0, len - 10 - n);
    return (int)len;
}

int cr_rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc)
{
    if (cap < 8)
        return CR_ETOOBIG;
    rtcp_hdr(buf, 1, CR_RTCP_BYE, 8);
    cr__wr32(buf + 4, ssrc);
    return 8;
}

int cr_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (cap < RTCP_FB_LEN)
        return CR_ETOOBIG;
    rtcp_hdr(buf, CR_RTCP_PSFB_PLI, CR_RTCP_PSFB, RTCP_FB_LEN);
    cr__wr32(buf + 4, sender_ssrc);
    cr__wr32(buf + 8, media_ssrc);
    return RTCP_FB_LEN;
}

int cr_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                      uint8_t seq_nr)
{
    if (cap < RTCP_FB_LEN + 8)
        return CR_ETOOBIG;
    rtcp_hdr(buf, CR_RTCP_PSFB_FIR, CR_RTCP_PSFB, RTCP_FB_LEN + 8);
    cr__wr32(buf + 4, sender_ssrc);
    /* RFC 5104 section 4.3.1.2: the header's media SSRC is unused (0); the entry names the target. */
    cr__wr32(buf + 8, 0);
    cr__wr32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    buf[17] = buf[18] = buf[19] = 0;
    return RTCP_FB_LEN + 8;
}

/* Marks seq in NACK item it if the item covers it: the PID itself, or PID+1 .. PID+16 via the BLP. */
static int nack_mark(uint8_t *it, uint16_t seq)
{
    uint16_t d = (uint16_t)(seq - cr__rd16(it));
    if (d == 0)
        return 1;
    if (d > 16)
        return 0;
    cr__wr16(it + 2, (uint16_t)(cr__rd16(it + 2) | (1u << (d - 1))));
    return 1;
}

/*
 * Marks seq in an existing item of the NACK being written, if one covers it. The newest item is
 * tried first: for ascending input it is the only one that can match, which keeps the common case
 * linear and makes the packing the optimal greedy cover; unordered input is still fully covered.
 */
static int nack_cover(uint8_t *fci, size_t items, uint16_t seq)
{
    if (items == 0)
        return 0;
    if (nack_mark(fci + (items - 1) * 4, seq))
        return 1;
    for (size_t k = 0; k + 1 < items; k++) {
        if (nack_mark(fci + k * 4, seq))
            return 1;
    }
    return 0;
}

int cr_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, size_t n)
{
    if (seqs == NULL || n == 0)
        return CR_EINVAL; /* RFC 4585 section 6.2.1: at least one item */
    if (cap < RTCP_FB_LEN + 4)
        return CR_ETOOBIG;
    uint8_t *fci = buf + RTCP_FB_LEN;
    size_t items = 0;
    for (size_t j = 0; j < n; j++) {
        if (nack_cover(fci, items, seqs[j]))
            continue;
        size_t len = RTCP_FB_LEN + (items + 1) * 4;
        if (len > cap || len > RTCP_MAX_LEN)
            return CR_ETOOBIG;
        cr__wr16(fci + items * 4, seqs[j]);
        cr__wr16(fci + items * 4 + 2, 0);
        items++;
    }
    size_t len = RTCP_FB_LEN + items * 4;
    rtcp_hdr(buf, CR_RTCP_RTPFB_NACK, CR_RTCP_RTPFB, len);
    cr__wr32(buf + 4, sender_ssrc);
    cr__wr32(buf + 8, media_ssrc);
    return (int)len;
}

int cr_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                       const uint32_t *ssrcs, unsigned n)
{
    if (n > 8 || (n > 0 && ssrcs == NULL))
        return CR_EINVAL;
    size_t len = RTCP_REMB_LEN + (size_t)n * 4;
    if (cap < len)
        return CR_ETOOBIG;
    /* draft-alvestrand-rmcat-remb-03 section 2.2: bitrate = mantissa (18 bits) << exponent (6). */
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > 0x3FFFF)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    rtcp_hdr(buf, CR_RTCP_PSFB_AFB, CR_RTCP_PSFB, len);
    cr__wr32(buf + 4, sender_ssrc);
    cr__wr32(buf + 8, 0); /* media SSRC: always 0 for REMB */
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)n;
    buf[17] = (uint8_t)((exp << 2) | (mantissa >> 16));
    cr__wr16(buf + 18, (uint16_t)mantissa);
    for (unsigned k = 0; k < n; k++)
        cr__wr32(buf + RTCP_REMB_LEN + k * 4, ssrcs[k]);
    return (int)len;
}

/*
 * Transport-cc feedback writer. Symbols (draft-holmer-rmcat-transport-wide-cc-extensions-01 section
 * 3.1.1): 0 not received, 1 received with a 1-byte delta (0..255), 2 received with a 2-byte signed
 * delta. The symbol value is also the delta's size in bytes.
 */
static unsigned twcc_symbol(const cr_rtcp_twcc_status_t *s)
{
    if (!s->received)
        return 0;
    return s->delta_250us >= 0 && s->delta_250us <= 255 ? 1 : 2;
}

#define TWCC_RUN_MAX 0x1FFF /* 13-bit run length */

/*
 * Encodes the chunk that starts at status i into *chunk and returns how many statuses it covers. A
 * run-length chunk is used when it covers at least as many packets as the vector that would be used
 * instead (14 for a one-bit vector, 7 for a two-bit one); a vector's unused trailing symbols are 0,
 * which the reader never looks at because it stops at the status count.
 */
static unsigned twcc_chunk(const cr_rtcp_twcc_status_t *st, unsigned i, unsigned n, uint16_t *chunk)
{
    unsigned sym = twcc_symbol(&st[i]);
    unsigned run = 1;
    while (i + run < n && run < TWCC_RUN_MAX && twcc_symbol(&st[i + run]) == sym)
        run++;
    unsigned left = n - i, span14 = left < 14 ? left : 14, span7 = left < 7 ? left : 7;
    int small = 1;
    for (unsigned k = 0; k < span14; k++)
        small &= twcc_symbol(&st[i + k]) < 2;
    if (run >= (small ? span14 : span7) && run > 1) {
        *chunk = (uint16_t)((sym << 13) | run); /* T=0 */
        return run;
    }
    uint16_t c;
    if (small) {
        c = 0x8000; /* T=1, S=0: fourteen 1-bit symbols */
        for (unsigned k = 0; k < span14; k++)
            c |= (uint16_t)(twcc_symbol(&st[i + k]) << (13 - k));
        *chunk = c;
        return span14;
    }
    c = 0xC000; /* T=1, S=1: seven 2-bit symbols */
    for (unsigned k = 0; k < span7; k++)
        c |= (uint16_t)(twcc_symbol(&st[i + k]) << (2 * (6 - k)));
    *chunk = c;
    return span7;
}

int cr_rtcp_write_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, const cr_rtcp_twcc_t *fb,
                       const cr_rtcp_twcc_status_t *st)
{
    if (fb == NULL || st == NULL || fb->status_count == 0 || fb->reference_time < -0x800000 ||
        fb->reference_time > 0x7FFFFF)
        return CR_EINVAL;
    unsigned n = fb->status_count;
    /* First pass: check the deltas and size the chunks and deltas, so nothing is written on error. */
    size_t chunks = 0, deltas = 0;
    for (unsigned i = 0; i < n;) {
        uint16_t c;
        i += twcc_chunk(st, i, n, &c);
        chunks++;
    }
    for (unsigned i = 0; i < n; i++) {
        if (st[i].received && (st[i].delta_250us < INT16_MIN || st[i].delta_250us > INT16_MAX))
            return CR_EINVAL;
        deltas += twcc_symbol(&st[i]);
    }
    size_t len = (RTCP_TWCC_LEN + chunks * 2 + deltas + 3) & ~(size_t)3;
    if (len > cap || len > RTCP_MAX_LEN)
        return CR_ETOOBIG;
    rtcp_hdr(buf, CR_RTCP_RTPFB_TWCC, CR_RTCP_RTPFB, len);
    cr__wr32(buf + 4, sender_ssrc);
    cr__wr32(buf + 8, fb->media_ssrc);
    cr__wr16(buf + 12, fb->base_seq);
    cr__wr16(buf + 14, fb->status_count);
    cr__wr24(buf + 16, (uint32_t)fb->reference_time & 0xFFFFFF);
    buf[19] = fb->fb_pkt_count;
    uint8_t *p = buf + RTCP_TWCC_LEN;
    for (unsigned i = 0; i < n;) {
        uint16_t c;
        i += twcc_chunk(st, i, n, &c);
        cr__wr16(p, c);
        p += 2;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned sym = twcc_symbol(&st[i]);
        if (sym == 1)
            *p++ = (uint8_t)st[i].delta_250us;
        else if (sym == 2) {
            cr__wr16(p, (uint16_t)(int16_t)st[i].delta_250us);
            p += 2;
        }
    }
    memset(p, 0, (size_t)(buf + len - p));
    return (int)len;
}
