#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_rtp.h"

/* A 12-byte header: V=2, PT 96, seq 0x1234, ts 0xA1B2C3D4, SSRC 0xDEADBEEF, then "abc". */
static const uint8_t basic_pkt[] = {0x80, 0xE0, 0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4,
                                    0xDE, 0xAD, 0xBE, 0xEF, 'a',  'b',  'c'};

static void test_parse_basic(void **state)
{
    (void)state;
    cr_rtp_hdr_t h;
    assert_int_equal(cr_rtp_parse(basic_pkt, sizeof(basic_pkt), &h), 0);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.payload_type, 96);
    assert_int_equal(h.seq, 0x1234);
    assert_int_equal(h.ts, 0xA1B2C3D4u);
    assert_int_equal(h.ssrc, 0xDEADBEEFu);
    assert_int_equal(h.padding, 0);
    assert_int_equal(h.extension, 0);
    assert_int_equal(h.csrc_count, 0);
    assert_int_equal(h.hdr_len, 12);
    assert_ptr_equal(h.payload, basic_pkt + 12);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.pad_len, 0);

    /* A header with an empty payload is valid. */
    assert_int_equal(cr_rtp_parse(basic_pkt, 12, &h), 0);
    assert_int_equal(h.payload_len, 0);
}

static void test_parse_csrc_and_padding(void **state)
{
    (void)state;
    uint8_t p[] = {0xA2, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* P=1, CC=2 */
                   0, 0, 0, 10, 0, 0, 0, 11,                 /* CSRCs */
                   'x', 'y', 0, 0, 3};                       /* payload, 3 padding bytes */
    cr_rtp_hdr_t h;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(h.csrc_count, 2);
    assert_int_equal(h.hdr_len, 20);
    assert_int_equal(h.padding, 1);
    assert_int_equal(h.pad_len, 3);
    assert_int_equal(h.payload_len, 2);
    assert_memory_equal(h.payload, "xy", 2);

    /* Padding that covers the whole payload leaves it empty. */
    p[sizeof(p) - 1] = 5;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(h.payload_len, 0);
}

/* One-byte form: id 1 (2 bytes), a padding byte, id 3 (1 byte), padding to the boundary. */
static const uint8_t ext1_pkt[] = {
    0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* X=1 */
    0xBE, 0xDE, 0x00, 0x02,                   /* profile, 2 words */
    0x11, 0xAA, 0xBB, 0x00,                   /* id 1 L=1 (2 bytes), pad */
    0x30, 0xCC, 0x00, 0x00,                   /* id 3 L=0 (1 byte), pad, pad */
    'p'};

static void test_ext_one_byte(void **state)
{
    (void)state;
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cr_rtp_parse(ext1_pkt, sizeof(ext1_pkt), &h), 0);
    assert_int_equal(h.extension, 1);
    assert_int_equal(h.ext_profile, 0xBEDE);
    assert_int_equal(h.ext_len, 8);
    assert_int_equal(h.hdr_len, 24);
    assert_int_equal(h.payload_len, 1);

    assert_int_equal(cr_rtp_ext_find(&h, 1, &v, &vl), 0);
    assert_int_equal(vl, 2);
    assert_int_equal(v[0], 0xAA);
    assert_int_equal(v[1], 0xBB);
    assert_int_equal(cr_rtp_ext_find(&h, 3, &v, &vl), 0);
    assert_int_equal(vl, 1);
    assert_int_equal(v[0], 0xCC);
    assert_int_equal(cr_rtp_ext_find(&h, 2, &v, &vl), CR_ENOTFOUND);
    assert_int_equal(cr_rtp_ext_find(&h, 0, &v, &vl), CR_ENOTFOUND);
    assert_int_equal(cr_rtp_ext_find(&h, 15, &v, &vl), CR_ENOTFOUND);
}

static void test_ext_one_byte_id15_stops(void **state)
{
    (void)state;
    /* RFC 8285 section 4.2: ID 15 ends processing, so id 2 after it is not seen. */
    const uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0x00, 0x02,
                         0x10, 0x01, 0xF3, 0x00, 0x20, 0x02, 0x00, 0x00};
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 1, &v, &vl), 0);
    assert_int_equal(v[0], 0x01);
    assert_int_equal(cr_rtp_ext_find(&h, 2, &v, &vl), CR_ENOTFOUND);
}

static void test_ext_one_byte_overrun(void **state)
{
    (void)state;
    /* id 1 claims 16 bytes but only 3 remain in the 4-byte element list. */
    const uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                         0xBE, 0xDE, 0x00, 0x01, 0x1F, 0x01, 0x02, 0x03};
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 1, &v, &vl), CR_EMALFORMED);
    assert_int_equal(cr_rtp_ext_find(&h, 2, &v, &vl), CR_EMALFORMED);
}

static void test_ext_two_byte(void **state)
{
    (void)state;
    const uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                         0x10, 0x00, 0x00, 0x03,       /* two-byte profile, 3 words */
                         0x00,                         /* padding */
                         0x05, 0x00,                   /* id 5, empty */
                         0x20, 0x03, 0x01, 0x02, 0x03, /* id 32, 3 bytes */
                         0x07, 0x01, 0x09,             /* id 7, 1 byte */
                         0x00};                        /* padding */
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(h.ext_profile, 0x1000);
    assert_int_equal(cr_rtp_ext_find(&h, 5, &v, &vl), 0);
    assert_int_equal(vl, 0);
    assert_int_equal(cr_rtp_ext_find(&h, 32, &v, &vl), 0);
    assert_int_equal(vl, 3);
    assert_int_equal(v[2], 0x03);
    assert_int_equal(cr_rtp_ext_find(&h, 7, &v, &vl), 0);
    assert_int_equal(vl, 1);
    assert_int_equal(v[0], 0x09);
    assert_int_equal(cr_rtp_ext_find(&h, 8, &v, &vl), CR_ENOTFOUND);

    /* A length past the end of the list is malformed. */
    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(p));
    q[20] = 0x30; /* id 32 now claims 48 bytes */
    assert_int_equal(cr_rtp_parse(q, sizeof(q), &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 5, &v, &vl), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 7, &v, &vl), CR_EMALFORMED);
}

static void test_ext_absent_or_other_profile(void **state)
{
    (void)state;
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cr_rtp_parse(basic_pkt, sizeof(basic_pkt), &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 1, &v, &vl), CR_ENOTFOUND);
    const uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xAB, 0xCD, 0x00, 0x01, 0x11, 1, 2, 3};
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 1, &v, &vl), CR_ENOTFOUND);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    cr_rtp_hdr_t h;
    uint8_t p[32] = {0};

    /* Shorter than the fixed header. */
    assert_int_equal(cr_rtp_parse(basic_pkt, 11, &h), CR_ETRUNC);
    assert_int_equal(cr_rtp_parse(basic_pkt, 0, &h), CR_ETRUNC);

    /* Version 1 and version 3. */
    memcpy(p, basic_pkt, sizeof(basic_pkt));
    p[0] = 0x40;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), CR_EMALFORMED);
    p[0] = 0xC0;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), CR_EMALFORMED);

    /* CC=2 needs 8 bytes after the header; only 3 follow. */
    memcpy(p, basic_pkt, sizeof(basic_pkt));
    p[0] = 0x82;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), CR_ETRUNC);

    /* X=1 with no room for the extension header, then with a length past the end. */
    memcpy(p, basic_pkt, sizeof(basic_pkt));
    p[0] = 0x90;
    assert_int_equal(cr_rtp_parse(p, 14, &h), CR_ETRUNC);
    memcpy(p + 12, (const uint8_t[]){0xBE, 0xDE, 0x00, 0x02, 0x10, 0x01, 0, 0}, 8);
    assert_int_equal(cr_rtp_parse(p, 20, &h), CR_ETRUNC);
    assert_int_equal(cr_rtp_parse(p, 24, &h), 0);

    /* P=1 with a zero count, a count beyond the payload, and nothing at all after the header. */
    memcpy(p, basic_pkt, sizeof(basic_pkt));
    p[0] = 0xA0;
    p[14] = 0;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), CR_EMALFORMED);
    p[14] = 4;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), CR_EMALFORMED);
    p[14] = 3;
    assert_int_equal(cr_rtp_parse(p, sizeof(basic_pkt), &h), 0);
    assert_int_equal(cr_rtp_parse(p, 12, &h), CR_EMALFORMED);
}

static void test_is_rtcp(void **state)
{
    (void)state;
    assert_int_equal(cr_rtp_is_rtcp(basic_pkt, sizeof(basic_pkt)), 0);
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80, 200}, 2), 1); /* SR */
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x81, 205}, 2), 1); /* RTPFB */
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80, 192}, 2), 1);
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80, 223}, 2), 1);
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80, 191}, 2), 0);
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80, 224}, 2), 0);
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x00, 200}, 2), 0); /* STUN range */
    assert_int_equal(cr_rtp_is_rtcp((const uint8_t[]){0x80}, 1), CR_ETRUNC);
}

static void test_setters(void **state)
{
    (void)state;
    uint8_t p[sizeof(basic_pkt)];
    memcpy(p, basic_pkt, sizeof(p));
    cr_rtp_set_seq(p, 0xFFFE);
    cr_rtp_set_ts(p, 0x01020304);
    cr_rtp_set_ssrc(p, 0xCAFEBABE);
    cr_rtp_set_pt(p, 111);
    cr_rtp_hdr_t h;
    assert_int_equal(cr_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(h.seq, 0xFFFE);
    assert_int_equal(h.ts, 0x01020304);
    assert_int_equal(h.ssrc, 0xCAFEBABE);
    assert_int_equal(h.payload_type, 111);
    assert_int_equal(h.marker, 1); /* kept */
    assert_memory_equal(h.payload, "abc", 3);

    uint8_t buf[16];
    assert_int_equal(cr_rtp_write_header(buf, 11, 96, 0, 1, 2, 3), CR_ETOOBIG);
    assert_int_equal(cr_rtp_write_header(buf, sizeof(buf), 200, 1, 7, 8, 9), 12);
    assert_int_equal(cr_rtp_parse(buf, 12, &h), 0);
    assert_int_equal(h.payload_type, 200 & 0x7F);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.seq, 7);
    assert_int_equal(h.ts, 8);
    assert_int_equal(h.ssrc, 9);
}

/* The transport-cc header parses back: X set, the element under its id, the payload after it. */
static void test_write_header_tseq(void **state)
{
    (void)state;
    uint8_t buf[64];
    cr_rtp_hdr_t h;
    const uint8_t *val;
    size_t vlen;
    assert_int_equal(cr_rtp_write_header_tseq(buf, 19, 96, 0, 1, 2, 3, 5, 9), CR_ETOOBIG);
    assert_int_equal(cr_rtp_write_header_tseq(buf, sizeof(buf), 96, 0, 1, 2, 3, 0, 9), CR_EINVAL);
    assert_int_equal(cr_rtp_write_header_tseq(buf, sizeof(buf), 96, 0, 1, 2, 3, 15, 9), CR_EINVAL);
    assert_int_equal(cr_rtp_write_header_tseq(buf, sizeof(buf), 111, 1, 0xfffe, 77, 0xabcdef01u, 5, 0xbeef),
                     CR_RTP_HDR_TSEQ);
    static const uint8_t ext[8] = {0xBE, 0xDE, 0x00, 0x01, 0x51, 0xBE, 0xEF, 0x00};
    assert_memory_equal(buf + 12, ext, sizeof(ext));
    memset(buf + CR_RTP_HDR_TSEQ, 0xAA, 4);
    assert_int_equal(cr_rtp_parse(buf, CR_RTP_HDR_TSEQ + 4, &h), 0);
    assert_int_equal(h.extension, 1);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.payload_type, 111);
    assert_int_equal(h.seq, 0xfffe);
    assert_int_equal(h.ts, 77);
    assert_int_equal(h.ssrc, 0xabcdef01u);
    assert_int_equal(h.payload_len, 4);
    assert_ptr_equal(h.payload, buf + CR_RTP_HDR_TSEQ);
    assert_int_equal(cr_rtp_ext_find(&h, 5, &val, &vlen), 0);
    assert_int_equal(vlen, 2);
    assert_int_equal(val[0] << 8 | val[1], 0xbeef);
    assert_int_equal(cr_rtp_ext_find(&h, 4, &val, &vlen), CR_ENOTFOUND);
    /* The largest id */
    assert_int_equal(cr_rtp_write_header_tseq(buf, sizeof(buf), 96, 0, 1, 2, 3, 14, 0), CR_RTP_HDR_TSEQ);
    assert_int_equal(cr_rtp_parse(buf, CR_RTP_HDR_TSEQ, &h), 0);
    assert_int_equal(cr_rtp_ext_find(&h, 14, &val, &vlen), 0);
    assert_int_equal(vlen, 2);
}

static void test_seq_diff(void **state)
{
    (void)state;
    assert_int_equal(cr_seq_diff(10, 12), 2);
    assert_int_equal(cr_seq_diff(12, 10), -2);
    assert_int_equal(cr_seq_diff(65535, 0), 1);
    assert_int_equal(cr_seq_diff(0, 65535), -1);
}

static void test_h264_keyframe(void **state)
{
    (void)state;
    /* Single NAL units: IDR (5), SPS (7), PPS (8), non-IDR slice (1). */
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x65, 0x88}, 2), 1);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x67, 0x42}, 2), 1);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x68, 0xCE}, 2), 0);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x41, 0x9A}, 2), 0);

    /* STAP-A with SEI (6) then SPS (7), and one with only PPS (8). */
    const uint8_t stap[] = {0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x03, 0x67, 0x42, 0x00};
    assert_int_equal(cr_rtp_h264_is_keyframe(stap, sizeof(stap)), 1);
    const uint8_t stap_pps[] = {0x78, 0x00, 0x02, 0x68, 0xCE};
    assert_int_equal(cr_rtp_h264_is_keyframe(stap_pps, sizeof(stap_pps)), 0);
    /* A NAL size past the end hides the SPS behind it. */
    const uint8_t stap_bad[] = {0x78, 0x00, 0x09, 0x06, 0x05, 0x00, 0x03, 0x67, 0x42, 0x00};
    assert_int_equal(cr_rtp_h264_is_keyframe(stap_bad, sizeof(stap_bad)), 0);

    /* FU-A: start of an IDR, a middle fragment of it, the end, and the start of a non-IDR. */
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x7C, 0x85, 0xB8}, 3), 1);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x7C, 0x05, 0xB8}, 3), 0);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x7C, 0x45, 0xB8}, 3), 0);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x7C, 0x81, 0x9A}, 3), 0);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x7C}, 1), 0);

    assert_int_equal(cr_rtp_h264_is_keyframe(NULL, 0), 0);
    assert_int_equal(cr_rtp_h264_is_keyframe((const uint8_t[]){0x65}, 0), 0);
}

static void test_vp8_keyframe(void **state)
{
    (void)state;
    /* S=1 PID=0, no extensions, key frame tag (P=0) and start code. */
    const uint8_t key[] = {0x10, 0x50, 0x2A, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01};
    assert_int_equal(cr_rtp_vp8_is_keyframe(key, sizeof(key)), 1);
    /* The same with X=1, I=1 (15-bit picture ID), L=1, T=1. */
    const uint8_t key_ext[] = {0x90, 0xE0, 0x81, 0x23, 0x05, 0x40,
                               0x50, 0x2A, 0x00, 0x9D, 0x01, 0x2A};
    assert_int_equal(cr_rtp_vp8_is_keyframe(key_ext, sizeof(key_ext)), 1);
    /* Inter frame (P=1). */
    const uint8_t inter[] = {0x10, 0x51, 0x2A, 0x00, 0x9D, 0x01, 0x2A};
    assert_int_equal(cr_rtp_vp8_is_keyframe(inter, sizeof(inter)), 0);
    /* Not the start of a partition (S=0), and the start of partition 1. */
    const uint8_t cont[] = {0x00, 0x50, 0x2A, 0x00, 0x9D, 0x01, 0x2A};
    assert_int_equal(cr_rtp_vp8_is_keyframe(cont, sizeof(cont)), 0);
    const uint8_t part1[] = {0x11, 0x50, 0x2A, 0x00, 0x9D, 0x01, 0x2A};
    assert_int_equal(cr_rtp_vp8_is_keyframe(part1, sizeof(part1)), 0);
    /* Truncated inside the descriptor and inside the frame tag. */
    assert_int_equal(cr_rtp_vp8_is_keyframe(key_ext, 3), 0);
    assert_int_equal(cr_rtp_vp8_is_keyframe(key, 4), 0);
    assert_int_equal(cr_rtp_vp8_is_keyframe(key, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_csrc_and_padding),
        cmocka_unit_test(test_ext_one_byte),
        cmocka_unit_test(test_ext_one_byte_id15_stops),
        cmocka_unit_test(test_ext_one_byte_overrun),
        cmocka_unit_test(test_ext_two_byte),
        cmocka_unit_test(test_ext_absent_or_other_profile),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_is_rtcp),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_write_header_tseq),
        cmocka_unit_test(test_seq_diff),
        cmocka_unit_test(test_h264_keyframe),
        cmocka_unit_test(test_vp8_keyframe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
