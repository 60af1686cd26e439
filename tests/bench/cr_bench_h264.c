#include "cr_bench_h264.h"

#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

/* The UUID of the stamp SEI: ASCII, so it holds no zero byte. */
static const uint8_t stamp_uuid[16] = {'c', 'l', 'a', 's', 's', 'r', 'e', 'l',
                                       'a', 'y', '-', 'b', 'e', 'n', 'c', 'h'};

enum { NAL_SLICE = 1, NAL_IDR = 5, NAL_SEI = 6, NAL_SPS = 7, NAL_PPS = 8, NAL_AUD = 9, NAL_FU_A = 28 };

/* Returns the offset of the byte after the next 00 00 01 start code at or after pos, or len. */
static size_t after_start_code(const uint8_t *buf, size_t len, size_t pos)
{
    for (size_t i = pos; i + 2 < len; i++) {
        if (buf[i + 2] > 1) {
            i += 2; /* no start code can end within the next two bytes */
            continue;
        }
        if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1)
            return i + 3;
    }
    return len;
}

int cr_bench_annexb_next(const uint8_t *buf, size_t len, size_t *pos, cr_bench_nal_t *out)
{
    size_t start = after_start_code(buf, len, *pos);
    if (start >= len)
        return 0;
    size_t next = after_start_code(buf, len, start);
    size_t end = next >= len ? len : next - 3;
    while (end > start && buf[end - 1] == 0)
        end--; /* trailing_zero_8bits and the leading zero of a 4-byte start code */
    *pos = next >= len ? len : next - 3;
    if (end == start)
        return cr_bench_annexb_next(buf, len, pos, out); /* an empty NAL unit: skip it */
    out->data = buf + start;
    out->len = end - start;
    return 1;
}

int cr_bench_h264_starts_au(const cr_bench_nal_t *nal, int vcl_seen)
{
    if (!vcl_seen || nal->len == 0)
        return 0;
    unsigned t = cr_bench_nal_type(nal->data[0]);
    if (t == NAL_AUD || t == NAL_SPS || t == NAL_PPS || t == NAL_SEI || (t >= 14 && t <= 18))
        return 1;
    /* first_mb_in_slice is ue(v): the value 0 is the single bit '1'. */
    if ((t == NAL_SLICE || t == NAL_IDR) && nal->len > 1)
        return (nal->data[1] & 0x80) != 0;
    return 0;
}

static int is_vcl(unsigned t)
{
    return t >= 1 && t <= 5;
}

int cr_bench_h264_index(const uint8_t *buf, size_t len, size_t max_nals, cr_bench_h264_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0, cap = 0;
    cr_bench_nal_t nal;
    while (cr_bench_annexb_next(buf, len, &pos, &nal) == 1)
        cap++;
    if (cap > max_nals)
        return CR_ETOOBIG;
    if (cap == 0)
        return CR_EMALFORMED;
    out->nals = calloc(cap, sizeof(*out->nals));
    out->aus = calloc(cap, sizeof(*out->aus));
    if (out->nals == NULL || out->aus == NULL) {
        cr_bench_h264_dispose(out);
        return CR_ENOMEM;
    }
    int vcl_seen = 0;
    cr_bench_au_t *au = NULL;
    pos = 0;
    while (cr_bench_annexb_next(buf, len, &pos, &nal) == 1) {
        unsigned t = cr_bench_nal_type(nal.data[0]);
        if (au == NULL || cr_bench_h264_starts_au(&nal, vcl_seen)) {
            au = &out->aus[out->n_aus++];
            au->first_nal = (uint32_t)out->n_nals;
            vcl_seen = 0;
        }
        if (t == NAL_SPS && !out->have_sps && nal.len >= 4) {
            memcpy(out->profile_level_id, nal.data + 1, 3);
            out->have_sps = 1;
        }
        vcl_seen |= is_vcl(t);
        if (t == NAL_IDR && !au->is_idr) {
            au->is_idr = 1;
            out->n_idr++;
        }
        au->n_nals++;
        out->nals[out->n_nals++] = nal;
    }
    /* An access unit without a slice (e.g. parameter sets at the very end) is dropped. */
    size_t n = 0;
    for (size_t i = 0; i < out->n_aus; i++) {
        int has_slice = 0;
        for (uint32_t k = 0; k < out->aus[i].n_nals; k++)
            has_slice |= is_vcl(cr_bench_nal_type(out->nals[out->aus[i].first_nal + k].data[0]));
        if (has_slice)
            out->aus[n++] = out->aus[i];
    }
    out->n_aus = n;
    if (n == 0) {
        cr_bench_h264_dispose(out);
        return CR_EMALFORMED;
    }
    return 0;
}

void cr_bench_h264_dispose(cr_bench_h264_t *h)
{
    free(h->nals);
    free(h->aus);
    memset(h, 0, sizeof(*h));
}

/* --- RFC 6184 packetization --- */

void cr_bench_fua_init(cr_bench_fua_t *it, const uint8_t *nal, size_t len, size_t max_payload)
{
    it->nal = nal;
    it->len = len;
    it->off = 0;
    it->max_payload = max_payload;
    it->done = 0;
}

int cr_bench_fua_next(cr_bench_fua_t *it, uint8_t *buf, size_t cap, int *last)
{
    *last = 0;
    if (it->done)
        return 0;
    if (it->len == 0 || it->max_payload < 3)
        return CR_EINVAL;
    if (it->len <= it->max_payload) {
        /* Section 5.6: the NAL unit is the payload. */
        if (cap < it->len)
            return CR_ETOOBIG;
        memcpy(buf, it->nal, it->len);
        it->done = 1;
        *last = 1;
        return (int)it->len;
    }
    /* Section 5.8: FU indicator (F, NRI of the NAL unit, type 28), FU header (S, E, R=0, type). */
    if (it->off == 0)
        it->off = 1; /* the NAL header byte travels in the FU indicator and header */
    size_t chunk = it->len - it->off;
    if (chunk > it->max_payload - 2)
        chunk = it->max_payload - 2;
    if (cap < chunk + 2)
        return CR_ETOOBIG;
    uint8_t hdr = it->nal[0];
    buf[0] = (uint8_t)((hdr & 0xe0) | NAL_FU_A);
    buf[1] = (uint8_t)(hdr & 0x1f);
    if (it->off == 1)
        buf[1] |= 0x80;
    memcpy(buf + 2, it->nal + it->off, chunk);
    it->off += chunk;
    if (it->off == it->len) {
        buf[1] |= 0x40;
        it->done = 1;
        *last = 1;
    }
    return (int)(chunk + 2);
}

/* --- latency stamp --- */

int cr_bench_stamp_write(uint8_t *buf, size_t cap, uint64_t t_us)
{
    static const char hex[] = "0123456789abcdef";
    if (cap < CR_BENCH_STAMP_LEN)
        return CR_ETOOBIG;
    buf[0] = NAL_SEI; /* forbidden_zero_bit 0, nal_ref_idc 0 */
    buf[1] = 5;       /* payloadType: user_data_unregistered */
    buf[2] = 32;      /* payloadSize: UUID + 16 digits */
    memcpy(buf + 3, stamp_uuid, sizeof(stamp_uuid));
    for (int i = 0; i < 16; i++)
        buf[19 + i] = (uint8_t)hex[(t_us >> (60 - 4 * i)) & 0xf];
    buf[35] = 0x80; /* rbsp_trailing_bits */
    return CR_BENCH_STAMP_LEN;
}

int cr_bench_stamp_read(const uint8_t *payload, size_t len, uint64_t *t_us)
{
    if (len != CR_BENCH_STAMP_LEN || payload[0] != NAL_SEI || payload[1] != 5 || payload[2] != 32 ||
        memcmp(payload + 3, stamp_uuid, sizeof(stamp_uuid)) != 0 || payload[35] != 0x80)
        return 0;
    uint64_t t = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t c = payload[19 + i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (unsigned)(c - 'a' + 10);
        else
            return 0;
        t = t << 4 | v;
    }
    *t_us = t;
    return 1;
}
