/*
 * RTP packet parsing and in-place rewriting (RFC 3550 section 5.1, header extensions RFC 8285).
 *
 * Parsers take the packet as (data, len), never copy, and return views into the input. They never
 * log and never allocate. All lengths are checked before they are used.
 */
#ifndef CR_RTP_H
#define CR_RTP_H

#include <stddef.h>
#include <stdint.h>

#define CR_RTP_HDR_MIN 12
#define CR_RTP_MAX_CSRC 15

/** A parsed RTP header. Pointers are views into the packet passed to cr_rtp_parse(). */
typedef struct cr_rtp_hdr {
    uint8_t padding;      /* P bit */
    uint8_t extension;    /* X bit */
    uint8_t csrc_count;   /* CC */
    uint8_t marker;       /* M bit */
    uint8_t payload_type; /* PT, 7 bits */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint16_t ext_profile;   /* 0xBEDE (one-byte) or 0x100X (two-byte) when extension is set */
    const uint8_t *ext;     /* extension elements, after the 4-byte extension header */
    size_t ext_len;         /* bytes of extension elements (a multiple of 4) */
    const uint8_t *payload; /* payload, after header, CSRCs and extension */
    size_t payload_len;     /* excluding padding */
    uint8_t pad_len;        /* padding bytes at the end, including the count byte; 0 if none */
    size_t hdr_len;         /* offset of the payload in the packet */
} cr_rtp_hdr_t;

/**
 * Parses an RTP packet. Returns 0, CR_ETRUNC if the buffer is shorter than the header, CSRC list or
 * extension it announces, or CR_EMALFORMED (version != 2, padding count 0 or beyond the payload).
 * data is borrowed; out's pointers are views into it.
 */
int cr_rtp_parse(const uint8_t *data, size_t len, cr_rtp_hdr_t *out);

/**
 * RFC 5761 section 4 / RFC 7983 demultiplexing: returns 1 if the packet (first byte 128..191) is RTCP
 * (second byte 192..223), 0 if it looks like RTP, CR_ETRUNC if len < 2.
 */
int cr_rtp_is_rtcp(const uint8_t *data, size_t len);

/**
 * Finds header extension element `id` (RFC 8285 one-byte or two-byte form). On success sets *val and
 * *val_len (views into the packet) and returns 0; CR_ENOTFOUND if absent; CR_EMALFORMED if the
 * element list runs past its end.
 */
int cr_rtp_ext_find(const cr_rtp_hdr_t *h, uint8_t id, const uint8_t **val, size_t *val_len);

/** In-place writers on a packet already validated by cr_rtp_parse() (len >= 12). */
void cr_rtp_set_seq(uint8_t *pkt, uint16_t seq);
void cr_rtp_set_ts(uint8_t *pkt, uint32_t ts);
void cr_rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc);
void cr_rtp_set_pt(uint8_t *pkt, uint8_t pt);

/**
 * Writes a minimal 12-byte RTP header (no CSRC, no extension) into buf. Returns 12 or CR_ETOOBIG if
 * cap < 12.
 */
int cr_rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                        uint32_t ssrc);

/** Bytes cr_rtp_write_header_tseq writes: the 12-byte header and an 8-byte extension block. */
#define CR_RTP_HDR_TSEQ 20

/**
 * Writes a 12-byte RTP header with the X bit set, followed by an RFC 8285 section 4.2 one-byte
 * extension block holding one element: the transport-wide sequence number tseq
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2) under ext_id (1..14), padded to a
 * 32-bit word: BE DE 00 01 | (ext_id << 4 | 1) tseq_hi tseq_lo 00. Returns CR_RTP_HDR_TSEQ,
 * CR_ETOOBIG if cap is smaller, or CR_EINVAL for an ext_id outside 1..14.
 */
int cr_rtp_write_header_tseq(uint8_t *buf, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                             uint32_t ssrc, uint8_t ext_id, uint16_t tseq);

/** Rewrites the transport-wide sequence number of a header cr_rtp_write_header_tseq wrote. */
void cr_rtp_set_tseq(uint8_t *pkt, uint16_t tseq);

/**
 * Returns 1 if the H.264 RTP payload (RFC 6184, packetization mode 0 or 1) starts or contains a
 * keyframe: an IDR slice (NAL 5) or SPS (NAL 7) as a single NAL, inside a STAP-A, or as the first
 * fragment of an FU-A. Returns 0 otherwise, including for truncated or malformed payloads.
 */
int cr_rtp_h264_is_keyframe(const uint8_t *payload, size_t len);

/** Returns 1 if the VP8 RTP payload (RFC 7741) is the start of a key frame, else 0. */
int cr_rtp_vp8_is_keyframe(const uint8_t *payload, size_t len);

/** Returns the signed distance b - a between two RTP sequence numbers, with wrap-around. */
static inline int16_t cr_seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(b - a);
}

#endif
