/*
 * RTCP parsing and writing: SR/RR/SDES/BYE (RFC 3550 section 6), generic NACK and transport-wide
 * congestion control feedback (RTPFB, RFC 4585 section 6.2, draft-holmer-rmcat-transport-wide-cc-
 * extensions-01), PLI and FIR (PSFB, RFC 4585 section 6.3.1, RFC 5104 section 4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb-03).
 *
 * Parsing walks a compound packet one sub-packet at a time and returns views into it; nothing is
 * copied or allocated. Writers fill a caller-owned buffer and return the bytes written or a
 * negative CR_E* code (CR_ETOOBIG when cap is too small).
 */
#ifndef CR_RTCP_H
#define CR_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum cr_rtcp_type {
    CR_RTCP_SR = 200,
    CR_RTCP_RR = 201,
    CR_RTCP_SDES = 202,
    CR_RTCP_BYE = 203,
    CR_RTCP_APP = 204,
    CR_RTCP_RTPFB = 205,
    CR_RTCP_PSFB = 206,
};

/* FMT values of feedback packets. */
enum { CR_RTCP_RTPFB_NACK = 1, CR_RTCP_RTPFB_TWCC = 15 };
enum { CR_RTCP_PSFB_PLI = 1, CR_RTCP_PSFB_FIR = 4, CR_RTCP_PSFB_AFB = 15 };

/** One sub-packet of a compound RTCP packet. */
typedef struct cr_rtcp_pkt {
    uint8_t type;        /* enum cr_rtcp_type (or any other value, which callers skip) */
    uint8_t count;       /* RC/SC count or FMT for feedback */
    const uint8_t *data; /* the whole sub-packet, from its first header byte */
    size_t len;          /* its length in bytes ((length field + 1) * 4) */
} cr_rtcp_pkt_t;

/**
 * Reads the next sub-packet of a compound packet and advances *src. Returns 1 when a packet was
 * read, 0 at the end, CR_ETRUNC when a header or length runs past end, CR_EMALFORMED when the
 * version is not 2 or padding is invalid. After an error, stop iterating.
 */
int cr_rtcp_next(const uint8_t **src, const uint8_t *end, cr_rtcp_pkt_t *out);

/** A report block (RFC 3550 section 6.4.1). */
typedef struct cr_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cum_lost; /* 24-bit signed */
    uint32_t ext_high_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} cr_rtcp_report_block_t;

/** Sender info of an SR. */
typedef struct cr_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
} cr_rtcp_sr_t;

/** Parses the sender info of an SR. Returns 0, CR_ETRUNC, or CR_EINVAL if pkt is not an SR. */
int cr_rtcp_sr_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_sr_t *out);

/**
 * Reads report block i (0-based) of an SR or RR, and the sender SSRC if sender_ssrc is not NULL.
 * Returns 0, CR_ENOTFOUND when i >= count, CR_ETRUNC when the packet is too short for its count,
 * or CR_EINVAL if pkt is neither an SR nor an RR.
 */
int cr_rtcp_report_block(const cr_rtcp_pkt_t *pkt, unsigned i, uint32_t *sender_ssrc,
                         cr_rtcp_report_block_t *out);

/**
 * Reads the common feedback header (RFC 4585 section 6.1) of an RTPFB or PSFB packet.
 * Returns 0, CR_ETRUNC, or CR_EINVAL if pkt is not a feedback packet.
 */
int cr_rtcp_fb_ssrcs(const cr_rtcp_pkt_t *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc);

/**
 * Expands a generic NACK (PID + BLP items) into the lost sequence numbers, at most max of them.
 * Returns the count written to seqs (>= 0), CR_ETRUNC (also for a NACK with no item), or CR_EINVAL
 * if pkt is not a NACK.
 */
int cr_rtcp_nack_parse(const cr_rtcp_pkt_t *pkt, uint16_t *seqs, size_t max);

/** A FIR entry (RFC 5104 section 4.3.1.1). */
typedef struct cr_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq_nr;
} cr_rtcp_fir_entry_t;

/**
 * Reads up to max FIR entries. Returns the count, CR_ETRUNC (also for a FIR with no entry), or
 * CR_EINVAL if pkt is not a FIR.
 */
int cr_rtcp_fir_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_fir_entry_t *entries, size_t max);

/** REMB contents. */
typedef struct cr_rtcp_remb {
    uint64_t bitrate_bps;
    uint8_t num_ssrc;
    uint32_t ssrcs[8]; /* the first min(num_ssrc, 8) SSRCs */
} cr_rtcp_remb_t;

/** Parses a REMB (PSFB FMT 15 with "REMB"). Returns 0, CR_ETRUNC, or CR_EINVAL if not REMB. */
int cr_rtcp_remb_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_remb_t *out);

/** Transport-wide CC feedback header, and a callback for each packet status. */
typedef struct cr_rtcp_twcc {
    uint32_t media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    int32_t reference_time; /* 24-bit signed, multiples of 64 ms */
    uint8_t fb_pkt_count;
} cr_rtcp_twcc_t;

/**
 * Parses a transport-cc feedback packet. For each of status_count packets, calls cb (if not NULL)
 * with its transport sequence number, whether it was received, and the receive delta in units of
 * 250 us (0 when not received). Returns 0, CR_ETRUNC or CR_EMALFORMED (chunks or deltas run past
 * the packet), or CR_EINVAL if pkt is not TWCC.
 */
int cr_rtcp_twcc_parse(const cr_rtcp_pkt_t *pkt, cr_rtcp_twcc_t *out,
                       void (*cb)(void *arg, uint16_t seq, int received, int32_t delta_250us),
                       void *arg);

/*
 * Note: the parsers above skip RTCP padding; given a hand-built pkt (not from cr_rtcp_next()) whose
 * padding is invalid they return CR_EMALFORMED.
 *
 * Writers. Each returns the number of bytes written or CR_ETOOBIG, and CR_EINVAL for arguments
 * outside the limits stated below.
 */

/** SR with no report blocks (we send RRs separately for publishers). */
int cr_rtcp_write_sr(uint8_t *buf, size_t cap, const cr_rtcp_sr_t *sr);

/** RR from sender_ssrc with n report blocks (n <= 31). */
int cr_rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                     const cr_rtcp_report_block_t *blocks, unsigned n);

/** SDES with a single CNAME item for ssrc (cname NUL-terminated, at most 255 bytes). */
int cr_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);

/** BYE for one SSRC. */
int cr_rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc);

/** PLI. */
int cr_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);

/** FIR with one entry for media_ssrc (the header's media SSRC is 0, RFC 5104 section 4.3.1.2). */
int cr_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                      uint8_t seq_nr);

/**
 * Generic NACK for the n >= 1 sequence numbers in seqs, packed into PID+BLP items. Ascending input
 * (with wrap-around) gets the fewest items; any order and duplicates are still fully covered.
 */
int cr_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, size_t n);

/** REMB for the given SSRCs (n <= 8). */
int cr_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                       const uint32_t *ssrcs, unsigned n);

/** One packet of a transport-cc feedback being written: received (with its delta) or not. */
typedef struct cr_rtcp_twcc_status {
    uint8_t received;
    int32_t delta_250us; /* received only: from the previous received packet, or for the first
                            one from the reference time; units of 250 us */
} cr_rtcp_twcc_status_t;

/**
 * Transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1) from
 * sender_ssrc for fb->media_ssrc, covering fb->status_count >= 1 packets from fb->base_seq, whose
 * statuses are st[0 .. status_count) (borrowed). fb->reference_time is 24-bit signed (multiples of
 * 64 ms) and fb->fb_pkt_count is written as given. Deltas of 0..255 are written in one byte, others
 * in two (signed). A delta outside -32768..32767 (8.192 s) cannot be encoded: CR_EINVAL, and the
 * caller must split the feedback there, starting a new one (with a new reference time) at that
 * packet. Status chunks are run-length chunks for runs of 14 or more equal symbols (or 7 or more when
 * the next 14 packets include a large delta), one-bit status vectors when the next 14 packets need no
 * large delta, else two-bit vectors. The packet ends with zero padding to 32 bits, counted in the
 * length and without the P bit (the draft's figure in section 3.1, and libwebrtc); cr_rtcp_twcc_parse
 * ignores bytes after the deltas.
 */
int cr_rtcp_write_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, const cr_rtcp_twcc_t *fb,
                       const cr_rtcp_twcc_status_t *st);

#endif
