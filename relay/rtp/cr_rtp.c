#include "cr_rtp.h"

#include "cr_err.h"
#include "cr_be.h"

/* RFC 8285 section 4.2 and 4.3: the "defined by profile" values of the two extension forms. */
#define CR_RTP_EXT_ONE_BYTE 0xBEDE
#define CR_RTP_EXT_TWO_BYTE_MASK 0xFFF0
#define CR_RTP_EXT_TWO_BYTE 0x1000

/*
 * Parses the 4-byte extension header at data[off] (RFC 3550 section 5.3.1) and moves *off past the
 * extension elements it announces.
 */
static int rtp_parse_ext(const uint8_t *data, size_t len, size_t *off, cr_rtp_hdr_t *out)
{
    if (len - *off < 4)
        return CR_ETRUNC;
    out->ext_profile = cr__rd16(data + *off);
    size_t ext_len = (size_t)cr__rd16(data + *off + 2) * 4;
    *off += 4;
    if (len - *off < ext_len)
        return CR_ETRUNC;
    out->ext = data + *off;
    out->ext_len = ext_len;
    *off += ext_len;
    return 0;
}

int cr_rtp_parse(const uint8_t *data, size_t len, cr_rtp_hdr_t *out)
{
    if (data == NULL || len < CR_RTP_HDR_MIN)
        return CR_ETRUNC;
    if ((data[0] >> 6) != 2)
        return CR_EMALFORMED;

    *out = (cr_rtp_hdr_t){0};
    out->padding = (data[0] >> 5) & 1;
    out->extension = (data[0] >> 4) & 1;
    out->csrc_count = data[0] & 0x0F;
    out->marker = data[1] >> 7;
    out->payload_type = data[1] & 0x7F;
    out->seq = cr__rd16(data + 2);
    out->ts = cr__rd32(data + 4);
    out->ssrc = cr__rd32(data + 8);

    size_t off = CR_RTP_HDR_MIN;
    size_t csrc_len = (size_t)out->csrc_count * 4;
    if (len - off < csrc_len)
        return CR_ETRUNC;
    off += csrc_len;
    if (out->extension) {
        int err = rtp_parse_ext(data, len, &off, out);
        if (err != 0)
            return err;
    }

    /*
     * RFC 3550 section 5.1: the last octet of the padding counts the padding octets, itself included,
     * so 0 is invalid and the padding may not reach back into the header.
     */
    size_t body = len - off;
    if (out->padding) {
        if (body == 0)
            return CR_EMALFORMED;
        uint8_t pad = data[len - 1];
        if (pad == 0 || pad > body)
            return CR_EMALFORMED;
        out->pad_len = pad;
        body -= pad;
    }
    out->hdr_len = off;
    out->payload = data + off;
    out->payload_len = body;
    return 0;
}

int cr_rtp_is_rtcp(const uint8_t *data, size_t len)
{
    if (data == NULL || len < 2)
        return CR_ETRUNC;
    /* RFC 5761 section 4: RTCP packet types 192..223 occupy the byte where RTP has M + PT. */
    return data[0] >= 128 && data[0] <= 191 && data[1] >= 192 && data[1] <= 223;
}

/*
 * One-byte form, RFC 8285 section 4.2: each element is ID(4) L(4) then L+1 bytes. A zero byte is
 * padding (section 4.1). ID 15 ends processing, and so does ID 0 with a non-zero length, which is not
 * padding and cannot be an element either (libwebrtc treats it the same way).
 */
static int rtp_ext_find_one(const uint8_t *p, size_t n, uint8_t id, const uint8_t **val,
                            size_t *val_len)
{
    size_t i = 0;
    if (id == 0 || id >= 15)
        return CR_ENOTFOUND;
    while (i < n) {
        uint8_t eid = p[i] >> 4;
        size_t elen = (size_t)(p[i] & 0x0F) + 1;
        if (p[i] == 0) {
            i++;
            continue;
        }
        if (eid == 15 || eid == 0)
            return CR_ENOTFOUND;
        i++;
        if (n - i < elen)
            return CR_EMALFORMED;
        if (eid == id) {
            *val = p + i;
            *val_len = elen;
            return 0;
        }
        i += elen;
    }
    return CR_ENOTFOUND;
}

/* Two-byte form, RFC 8285 section 4.3: ID(8) L(8) then L bytes (L may be 0); zero bytes pad. */
static int rtp_ext_find_two(const uint8_t *p, size_t n, uint8_t id, const uint8_t **val,
                            size_t *val_len)
{
    size_t i = 0;
    if (id == 0)
        return CR_ENOTFOUND;
    while (i < n) {
        if (p[i] == 0) {
            i++;
            continue;
        }
        if (n - i < 2)
            return CR_EMALFORMED;
        uint8_t eid = p[i];
        size_t elen = p[i + 1];
        i += 2;
        if (n - i < elen)
            return CR_EMALFORMED;
        if (eid == id) {
            *val = p + i;
            *val_len = elen;
            return 0;
        }
        i += elen;
    }
    return CR_ENOTFOUND;
}

int cr_rtp_ext_find(const cr_rtp_hdr_t *h, uint8_t id, const uint8_t **val, size_t *val_len)
{
    if (!h->extension || h->ext == NULL)
        return CR_ENOTFOUND;
    if (h->ext_profile == CR_RTP_EXT_ONE_BYTE)
        return rtp_ext_find_one(h->ext, h->ext_len, id, val, val_len);
    if ((h->ext_profile & CR_RTP_EXT_TWO_BYTE_MASK) == CR_RTP_EXT_TWO_BYTE)
        return rtp_ext_find_two(h->ext, h->ext_len, id, val, val_len);
    /* Some other profile's extension: it holds no RFC 8285 elements. */
    return CR_ENOTFOUND;
}

void cr_rtp_set_seq(uint8_t *pkt, uint16_t seq)
{
    cr__wr16(pkt + 2, seq);
}

void cr_rtp_set_ts(uint8_t *pkt, uint32_t ts)
{
    cr__wr32(pkt + 4, ts);
}

void cr_rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc)
{
    cr__wr32(pkt + 8, ssrc);
}

void cr_rtp_set_pt(uint8_t *pkt, uint8_t pt)
{
    /* Keep the marker bit, which shares the byte. */
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7F));
}

int cr_rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                        uint32_t ssrc)
{
    if (cap < CR_RTP_HDR_MIN)
        return CR_ETOOBIG;
    buf[0] = 0x80;
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7F));
    cr__wr16(buf + 2, seq);
    cr__wr32(buf + 4, ts);
    cr__wr32(buf + 8, ssrc);
    return CR_RTP_HDR_MIN;
}

int cr_rtp_write_header_tseq(uint8_t *buf, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                             uint32_t ssrc, uint8_t ext_id, uint16_t tseq)
{
    if (ext_id < 1 || ext_id > 14)
        return CR_EINVAL; /* 0 is padding and 15 reserved in the one-byte form (RFC 8285 4.2) */
    if (cap < CR_RTP_HDR_TSEQ)
        return CR_ETOOBIG;
    cr_rtp_write_header(buf, cap, pt, marker, seq, ts, ssrc);
    buf[0] |= 0x10; /* X */
    uint8_t *x = buf + CR_RTP_HDR_MIN;
    x[0] = 0xBE; /* the one-byte profile, 0xBEDE */
    x[1] = 0xDE;
    cr__wr16(x + 2, 1); /* the block's length in 32-bit words */
    x[4] = (uint8_t)(ext_id << 4 | 1); /* L = length - 1: two bytes */
    cr_rtp_set_tseq(buf, tseq);
    x[7] = 0; /* padding */
    return CR_RTP_HDR_TSEQ;
}

void cr_rtp_set_tseq(uint8_t *pkt, uint16_t tseq)
{
    cr__wr16(pkt + CR_RTP_HDR_MIN + 5, tseq);
}

/* H.264 NAL unit types (RFC 6184 section 5.4, ITU-T H.264 table 7-1). */
enum { H264_NAL_IDR = 5, H264_NAL_SPS = 7, H264_STAP_A = 24, H264_FU_A = 28 };

static int h264_nal_is_key(uint8_t nal_type)
{
    return nal_type == H264_NAL_IDR || nal_type == H264_NAL_SPS;
}

/* STAP-A, RFC 6184 section 5.7.1: after the 1-byte header, repeated (16-bit size, NAL unit). */
static int h264_stap_a_is_key(const uint8_t *p, size_t len)
{
    size_t i = 1;
    while (len - i >= 2) {
        size_t nal_len = cr__rd16(p + i);
        i += 2;
        if (nal_len == 0 || len - i < nal_len)
            return 0;
        if (h264_nal_is_key(p[i] & 0x1F))
            return 1;
        i += nal_len;
    }
    return 0;
}

int cr_rtp_h264_is_keyframe(const uint8_t *payload, size_t len)
{
    if (payload == NULL || len < 1)
        return 0;
    uint8_t type = payload[0] & 0x1F;
    if (type >= 1 && type <= 23)
        return h264_nal_is_key(type);
    if (type == H264_STAP_A)
        return h264_stap_a_is_key(payload, len);
    if (type == H264_FU_A) {
        /* RFC 6184 section 5.8: only the fragment with the S bit starts the NAL unit. */
        if (len < 2)
            return 0;
        return (payload[1] & 0x80) != 0 && h264_nal_is_key(payload[1] & 0x1F);
    }
    /* STAP-B, MTAP and FU-B belong to the interleaved mode, which we do not negotiate. */
    return 0;
}

/* Returns the length of the VP8 payload descriptor (RFC 7741 section 4.2), or 0 if truncated. */
static size_t vp8_descriptor_len(const uint8_t *p, size_t len)
{
    if (!(p[0] & 0x80))
        return len > 1 ? 1 : 0;
    if (len < 2)
        return 0;
    uint8_t x = p[1];
    size_t i = 2;
    if (x & 0x80) { /* I: PictureID, 15 bits when its M bit is set */
        if (len <= i)
            return 0;
        i += (p[i] & 0x80) ? 2 : 1;
    }
    if (x & 0x40) /* L: TL0PICIDX */
        i++;
    if (x & 0x30) /* T or K: TID/Y/KEYIDX byte */
        i++;
    return i < len ? i : 0;
}

int cr_rtp_vp8_is_keyframe(const uint8_t *payload, size_t len)
{
    if (payload == NULL || len < 1)
        return 0;
    /* A frame starts where S = 1 and the partition index is 0 (RFC 7741 section 4.2). */
    if ((payload[0] & 0x10) == 0 || (payload[0] & 0x07) != 0)
        return 0;
    size_t off = vp8_descriptor_len(payload, len);
    if (off == 0)
        return 0;
    /*
     * RFC 7741 section 4.3 / RFC 6386 section 9.1: the frame tag's P bit is 0 for a key frame, whose
     * 3-byte tag is followed by the start code 9d 01 2a. Checking the start code too keeps a stray
     * inter frame with a cleared bit from being taken for a key frame.
     */
    const uint8_t *f = payload + off;
    if (len - off < 6 || (f[0] & 0x01) != 0)
        return 0;
    return f[3] == 0x9d && f[4] == 0x01 && f[5] == 0x2a;
}
