/*
 * Fuzz target for the RTP parser: parses the input, looks up every one-byte extension id, and runs
 * both keyframe detectors on the payload (and on the raw input, which reaches their deeper branches
 * more often than a payload behind a valid header does).
 */
#include <stddef.h>
#include <stdint.h>

#include "cr_rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_rtp_hdr_t h;
    (void)cr_rtp_is_rtcp(data, size);
    (void)cr_rtp_h264_is_keyframe(data, size);
    (void)cr_rtp_vp8_is_keyframe(data, size);
    if (cr_rtp_parse(data, size, &h) != 0)
        return 0;
    volatile size_t sink = 0;
    for (uint8_t id = 1; id <= 14; id++) {
        const uint8_t *v;
        size_t vl;
        if (cr_rtp_ext_find(&h, id, &v, &vl) == 0 && vl > 0)
            sink += v[0] + v[vl - 1];
    }
    /* Two-byte ids beyond the one-byte range. */
    const uint8_t *v;
    size_t vl;
    if (cr_rtp_ext_find(&h, 200, &v, &vl) == 0 && vl > 0)
        sink += v[vl - 1];
    if (h.payload_len > 0)
        sink += h.payload[0] + h.payload[h.payload_len - 1];
    sink += cr_rtp_h264_is_keyframe(h.payload, h.payload_len);
    sink += cr_rtp_vp8_is_keyframe(h.payload, h.payload_len);
    (void)sink;
    return 0;
}
