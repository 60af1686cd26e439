/*
 * The synthetic publisher's media parsing: the Annex-B splitter and access-unit index, the RFC 6184
 * packetizer (FU-A fragments reassemble to the NAL unit), the latency stamp SEI, and the Ogg reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cr_bench_h264.h"
#include "cr_bench_ogg.h"
#include "cr_err.h"
#include "cr_rtp.h"

/* Two access units: AUD SPS PPS IDR(2 slices) | AUD P | SEI P(first_mb != 0 continues) P(new AU) */
static const uint8_t stream[] = {
    0xff, 0xee,                                     /* garbage before the first start code */
    0, 0, 0, 1, 0x09, 0xf0,                         /* AUD */
    0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x28, 0xaa,       /* SPS: profile-level-id 42c028 */
    0, 0, 1, 0x68, 0xce, 0x3c, 0x80,                /* PPS */
    0, 0, 1, 0x65, 0x88, 0x11, 0x22,                /* IDR, first_mb 0 */
    0, 0, 1, 0x65, 0x41, 0x33, 0x00,                /* IDR, first_mb != 0, a trailing zero byte */
    0, 0, 0, 1, 0x09, 0xf0,                         /* AUD: new AU */
    0, 0, 1, 0x41, 0x9a, 0x01,                      /* P */
    0, 0, 1, 0x06, 0x05, 0x01, 0x80,                /* SEI after a slice: new AU */
    0, 0, 1, 0x41, 0x9a, 0x02,                      /* P, first_mb 0 */
    0, 0, 1, 0x41, 0x40, 0x03,                      /* P, first_mb != 0: same AU */
    0, 0, 1, 0x41, 0x80, 0x04, 0x00, 0x00,          /* P, first_mb 0: new AU; trailing zeros */
};

static void test_annexb(void **state)
{
    (void)state;
    size_t pos = 0;
    cr_bench_nal_t nal;
    const uint8_t want_types[] = {9, 7, 8, 5, 5, 9, 1, 6, 1, 1, 1};
    const size_t want_len[] = {2, 5, 4, 4, 3, 2, 3, 4, 3, 3, 3};
    for (size_t i = 0; i < sizeof(want_types); i++) {
        assert_int_equal(cr_bench_annexb_next(stream, sizeof(stream), &pos, &nal), 1);
        assert_int_equal(cr_bench_nal_type(nal.data[0]), want_types[i]);
        assert_int_equal(nal.len, want_len[i]);
    }
    assert_int_equal(cr_bench_annexb_next(stream, sizeof(stream), &pos, &nal), 0);
    assert_int_equal(cr_bench_annexb_next(stream, sizeof(stream), &pos, &nal), 0);

    const uint8_t none[] = {1, 2, 3, 0, 0, 2, 0, 0};
    pos = 0;
    assert_int_equal(cr_bench_annexb_next(none, sizeof(none), &pos, &nal), 0);
    const uint8_t empty_nals[] = {0, 0, 1, 0, 0, 1, 0x41, 0x80};
    pos = 0;
    assert_int_equal(cr_bench_annexb_next(empty_nals, sizeof(empty_nals), &pos, &nal), 1);
    assert_int_equal(nal.len, 2);
    /* Every prefix of the stream is safe to scan. */
    for (size_t len = 0; len <= sizeof(stream); len++) {
        pos = 0;
        while (cr_bench_annexb_next(stream, len, &pos, &nal) == 1)
            assert_true(nal.data + nal.len <= stream + len);
    }
}

static void test_index(void **state)
{
    (void)state;
    cr_bench_h264_t h;
    assert_int_equal(cr_bench_h264_index(stream, sizeof(stream), 1000, &h), 0);
    assert_int_equal(h.n_nals, 11);
    assert_int_equal(h.n_aus, 4);
    assert_int_equal(h.aus[0].first_nal, 0);
    assert_int_equal(h.aus[0].n_nals, 5);
    assert_true(h.aus[0].is_idr);
    assert_int_equal(h.aus[1].n_nals, 2);
    assert_false(h.aus[1].is_idr);
    assert_int_equal(h.aus[2].n_nals, 3); /* SEI, P, P continuing */
    assert_int_equal(h.aus[3].n_nals, 1);
    assert_int_equal(h.n_idr, 1);
    assert_true(h.have_sps);
    assert_int_equal(h.profile_level_id[0], 0x42);
    assert_int_equal(h.profile_level_id[1], 0xc0);
    assert_int_equal(h.profile_level_id[2], 0x28);
    cr_bench_h264_dispose(&h);

    assert_int_equal(cr_bench_h264_index(stream, sizeof(stream), 5, &h), CR_ETOOBIG);
    const uint8_t no_slice[] = {0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce};
    assert_int_equal(cr_bench_h264_index(no_slice, sizeof(no_slice), 100, &h), CR_EMALFORMED);
    assert_int_equal(cr_bench_h264_index(no_slice, 2, 100, &h), CR_EMALFORMED);
}

static void test_starts_au(void **state)
{
    (void)state;
    const uint8_t sps[] = {0x67, 0x42}, slice0[] = {0x41, 0x80}, slice1[] = {0x41, 0x40}, fill[] = {0x0c, 0xff};
    cr_bench_nal_t n = {sps, 2};
    assert_int_equal(cr_bench_h264_starts_au(&n, 0), 0);
    assert_int_equal(cr_bench_h264_starts_au(&n, 1), 1);
    n.data = slice0;
    assert_int_equal(cr_bench_h264_starts_au(&n, 1), 1);
    n.data = slice1;
    assert_int_equal(cr_bench_h264_starts_au(&n, 1), 0);
    n.data = fill;
    assert_int_equal(cr_bench_h264_starts_au(&n, 1), 0);
    n.len = 0;
    assert_int_equal(cr_bench_h264_starts_au(&n, 1), 0);
}

/* Packetizes a NAL unit and reassembles it as a receiver would (RFC 6184 section 5.8). */
static void roundtrip(const uint8_t *nal, size_t len, size_t max_payload, unsigned want_packets)
{
    cr_bench_fua_t it;
    uint8_t pkt[1600], *out = malloc(len + 16);
    size_t got = 0;
    unsigned packets = 0;
    int last = 0, n;
    cr_bench_fua_init(&it, nal, len, max_payload);
    while ((n = cr_bench_fua_next(&it, pkt, sizeof(pkt), &last)) > 0) {
        assert_true((size_t)n <= max_payload);
        packets++;
        if (len <= max_payload) {
            assert_memory_equal(pkt, nal, len);
            memcpy(out, pkt, len);
            got = len;
        } else {
            assert_int_equal(pkt[0], (nal[0] & 0xe0) | 28); /* F and NRI kept, type FU-A */
            assert_int_equal(pkt[1] & 0x1f, nal[0] & 0x1f);
            assert_int_equal((pkt[1] & 0x80) != 0, packets == 1);
            assert_int_equal((pkt[1] & 0x40) != 0, last);
            if (packets == 1)
                out[got++] = (uint8_t)((pkt[0] & 0xe0) | (pkt[1] & 0x1f));
            memcpy(out + got, pkt + 2, (size_t)n - 2);
            got += (size_t)n - 2;
        }
        if (last)
            break;
    }
    assert_true(last);
    assert_int_equal(cr_bench_fua_next(&it, pkt, sizeof(pkt), &last), 0);
    assert_int_equal(packets, want_packets);
    assert_int_equal(got, len);
    assert_memory_equal(out, nal, len);
    free(out);
}

static void test_fua(void **state)
{
    (void)state;
    uint8_t nal[5000];
    for (size_t i = 0; i < sizeof(nal); i++)
        nal[i] = (uint8_t)(i * 7 + 3);
    nal[0] = 0x65; /* NRI 3, IDR */
    roundtrip(nal, 1, 1188, 1);
    roundtrip(nal, 1188, 1188, 1);
    roundtrip(nal, 1189, 1188, 2);                 /* 1188 bytes after the header: 1186 + 2 */
    roundtrip(nal, 5000, 1188, (4999 + 1185) / 1186);
    roundtrip(nal, 5000, 3, 4999);                 /* one byte per fragment */

    cr_bench_fua_t it;
    uint8_t small[10];
    int last;
    cr_bench_fua_init(&it, nal, 5000, 1188);
    assert_int_equal(cr_bench_fua_next(&it, small, sizeof(small), &last), CR_ETOOBIG);
    cr_bench_fua_init(&it, nal, 0, 1188);
    assert_int_equal(cr_bench_fua_next(&it, small, sizeof(small), &last), CR_EINVAL);
    cr_bench_fua_init(&it, nal, 10, 2);
    assert_int_equal(cr_bench_fua_next(&it, small, sizeof(small), &last), CR_EINVAL);
}

static void test_stamp(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint64_t t = 0;
    assert_int_equal(cr_bench_stamp_write(buf, sizeof(buf), 1763916000123456ull), CR_BENCH_STAMP_LEN);
    assert_int_equal(cr_bench_nal_type(buf[0]), 6);
    assert_int_equal(buf[CR_BENCH_STAMP_LEN - 1], 0x80);
    for (int i = 0; i < CR_BENCH_STAMP_LEN; i++)
        assert_true(buf[i] != 0); /* no emulation prevention needed */
    assert_int_equal(cr_bench_stamp_read(buf, CR_BENCH_STAMP_LEN, &t), 1);
    assert_int_equal(t, 1763916000123456ull);
    assert_int_equal(cr_bench_stamp_write(buf, sizeof(buf), UINT64_MAX), CR_BENCH_STAMP_LEN);
    assert_int_equal(cr_bench_stamp_read(buf, CR_BENCH_STAMP_LEN, &t), 1);
    assert_true(t == UINT64_MAX);
    assert_int_equal(cr_bench_stamp_read(buf, CR_BENCH_STAMP_LEN - 1, &t), 0);
    buf[5] ^= 1; /* another UUID */
    assert_int_equal(cr_bench_stamp_read(buf, CR_BENCH_STAMP_LEN, &t), 0);
    buf[5] ^= 1;
    buf[20] = 'g'; /* not a hex digit */
    assert_int_equal(cr_bench_stamp_read(buf, CR_BENCH_STAMP_LEN, &t), 0);
    assert_int_equal(cr_bench_stamp_write(buf, CR_BENCH_STAMP_LEN - 1, 1), CR_ETOOBIG);
    /* x264's own SEI is not a stamp. */
    const uint8_t other[] = {0x06, 0x05, 0x01, 0x80};
    assert_int_equal(cr_bench_stamp_read(other, sizeof(other), &t), 0);
}

/* Appends an Ogg page with the given lacing values and body. */
static size_t page(uint8_t *out, const uint8_t *laces, unsigned n, const uint8_t *body)
{
    size_t body_len = 0;
    memset(out, 0, 27);
    memcpy(out, "OggS", 4);
    out[26] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        out[27 + i] = laces[i];
        body_len += laces[i];
    }
    memcpy(out + 27 + n, body, body_len);
    return 27 + n + body_len;
}

static void test_ogg(void **state)
{
    (void)state;
    uint8_t file[4096], body[1024], pkt[1024];
    size_t len = 0, plen;
    static const uint8_t lace_head[] = {10}, lace_tags[] = {8}, lace_a[] = {3, 255}, lace_b[] = {100, 0};
    memcpy(body, "OpusHead\x01\x02", 10);
    len += page(file + len, lace_head, 1, body);
    memcpy(body, "OpusTags", 8);
    len += page(file + len, lace_tags, 1, body);
    /* Two packets of 3 and 255+100 bytes; the second continues onto the next page, then one of 0. */
    for (int i = 0; i < 600; i++)
        body[i] = (uint8_t)i;
    len += page(file + len, lace_a, 2, body);
    len += page(file + len, lace_b, 2, body + 258);

    cr_bench_ogg_t og;
    cr_bench_ogg_init(&og, file, len);
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 1);
    assert_true(cr_bench_opus_is_header(pkt, plen));
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 1);
    assert_true(cr_bench_opus_is_header(pkt, plen));
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 1);
    assert_int_equal(plen, 3);
    assert_false(cr_bench_opus_is_header(pkt, plen));
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 1);
    assert_int_equal(plen, 355);
    assert_memory_equal(pkt, body + 3, 355);
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 1);
    assert_int_equal(plen, 0);
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), 0);

    /* Too small an output buffer; then truncated and corrupted files. */
    cr_bench_ogg_init(&og, file, len);
    for (int i = 0; i < 3; i++)
        cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen);
    assert_int_equal(cr_bench_ogg_next(&og, pkt, 100, &plen), CR_ETOOBIG);
    for (size_t cut = 1; cut < len; cut++) {
        int r;
        cr_bench_ogg_init(&og, file, cut);
        while ((r = cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen)) == 1)
            assert_true(plen <= 355);
        assert_true(r == 0 || r == CR_EMALFORMED);
    }
    file[0] = 'X';
    cr_bench_ogg_init(&og, file, len);
    assert_int_equal(cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen), CR_EMALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_annexb), cmocka_unit_test(test_index), cmocka_unit_test(test_starts_au),
        cmocka_unit_test(test_fua),    cmocka_unit_test(test_stamp), cmocka_unit_test(test_ogg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
