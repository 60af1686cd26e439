/*
 * H.264 for the synthetic publisher: an Annex-B byte stream (ITU-T H.264 annex B) split into NAL units
 * and access units, the RTP payloads of RFC 6184 (single NAL unit packets and FU-A fragments, section
 * 5.6 and 5.8, packetization-mode 1), and the benchmark's latency stamp: a valid SEI NAL unit
 * (user_data_unregistered, H.264 D.1.6) carrying the sender's wall-clock time, which decoders ignore
 * and the load generator reads back after decryption.
 *
 * All functions work on views into the caller's buffers; only cr_bench_h264_index allocates (once, at
 * set-up) and cr_bench_h264_dispose frees.
 */
#ifndef CR_BENCH_H264_H
#define CR_BENCH_H264_H

#include <stddef.h>
#include <stdint.h>

/** One NAL unit: data points at its header byte; len excludes the start code and trailing zeros. */
typedef struct cr_bench_nal {
    const uint8_t *data;
    size_t len;
} cr_bench_nal_t;

/** NAL unit type (H.264 table 7-1) of a NAL header byte. */
static inline unsigned cr_bench_nal_type(uint8_t hdr)
{
    return hdr & 0x1f;
}

/**
 * Finds the next NAL unit of an Annex-B stream at or after *pos, sets out and advances *pos past it.
 * Bytes before the first start code are skipped. Returns 1, or 0 when there is no further NAL unit.
 */
int cr_bench_annexb_next(const uint8_t *buf, size_t len, size_t *pos, cr_bench_nal_t *out);

/**
 * Returns 1 if nal begins a new access unit given that the current one already holds a VCL NAL unit
 * (H.264 section 7.4.1.2.3, without the slice-header comparisons: a new AU starts at an access unit
 * delimiter, SPS, PPS, SEI, types 14..18, or a slice whose first_mb_in_slice is 0). Returns 0 otherwise,
 * and always 0 when vcl_seen is 0.
 */
int cr_bench_h264_starts_au(const cr_bench_nal_t *nal, int vcl_seen);

/** One access unit (one frame): a run of NAL units in the index. */
typedef struct cr_bench_au {
    uint32_t first_nal;
    uint32_t n_nals;
    uint8_t is_idr; /* holds an IDR slice (type 5) */
} cr_bench_au_t;

/** A whole stream split into NAL units and access units; views into the caller's buffer. */
typedef struct cr_bench_h264 {
    cr_bench_nal_t *nals;
    size_t n_nals;
    cr_bench_au_t *aus;
    size_t n_aus;
    size_t n_idr;
    uint8_t profile_level_id[3]; /* from the first SPS: profile_idc, constraint flags, level_idc */
    uint8_t have_sps;
} cr_bench_h264_t;

/**
 * Indexes an Annex-B stream (buf must outlive out). Returns 0, CR_EMALFORMED when the stream holds no
 * access unit with a slice, CR_ETOOBIG beyond max_nals NAL units, or CR_ENOMEM.
 */
int cr_bench_h264_index(const uint8_t *buf, size_t len, size_t max_nals, cr_bench_h264_t *out);

/** Frees the arrays of an index. */
void cr_bench_h264_dispose(cr_bench_h264_t *h);

/** Iterator producing the RTP payloads of one NAL unit (RFC 6184 section 5.6 / 5.8). */
typedef struct cr_bench_fua {
    const uint8_t *nal;
    size_t len;
    size_t off; /* bytes of the NAL unit already emitted (the header counts as emitted once started) */
    size_t max_payload;
    uint8_t done;
} cr_bench_fua_t;

/** Starts packetizing nal (borrowed) into payloads of at most max_payload bytes (>= 3). */
void cr_bench_fua_init(cr_bench_fua_t *it, const uint8_t *nal, size_t len, size_t max_payload);

/**
 * Writes the next payload into buf: the whole NAL unit when it fits in max_payload, else the next FU-A
 * fragment (FU indicator, FU header with the S/E bits, fragment). Returns its length, 0 when the NAL unit
 * is finished, CR_EINVAL for an empty NAL unit or a max_payload below 3, or CR_ETOOBIG when cap is too
 * small. *last is set to 1 for the final payload of the NAL unit.
 */
int cr_bench_fua_next(cr_bench_fua_t *it, uint8_t *buf, size_t cap, int *last);

/** Length of a latency stamp SEI NAL unit. */
#define CR_BENCH_STAMP_LEN 36

/**
 * Writes a stamp SEI NAL unit: header 0x06, payloadType 5, payloadSize 32, the 16-byte bench UUID and
 * t_us as 16 lowercase hex digits (no zero byte, so no emulation prevention is needed), then the RBSP
 * stop bit. Returns CR_BENCH_STAMP_LEN or CR_ETOOBIG.
 */
int cr_bench_stamp_write(uint8_t *buf, size_t cap, uint64_t t_us);

/** Returns 1 and sets *t_us if payload (an RTP payload) is exactly a stamp SEI, else 0. */
int cr_bench_stamp_read(const uint8_t *payload, size_t len, uint64_t *t_us);

#endif
