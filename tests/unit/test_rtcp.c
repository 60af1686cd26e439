#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_rtcp.h"

/* Reads the single sub-packet that fills buf[0..len). */
static cr_rtcp_pkt_t one_pkt(const uint8_t *buf, size_t len)
{
    const uint8_t *p = buf;
    cr_rtcp_pkt_t pkt;
    assert_int_equal(cr_rtcp_next(&p, buf + len, &pkt), 1);
    assert_ptr_equal(p, buf + len);
    return pkt;
}

static void test_sr_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[64];
    cr_rtcp_sr_t sr = {.ssrc = 0x11223344,
                       .ntp = 0xE1234567890ABCDEull,
                       .rtp_ts = 90000,
                       .packet_count = 42,
                       .octet_count = 4242};
    assert_int_equal(cr_rtcp_write_sr(buf, 27, &sr), CR_ETOOBIG);
    int n = cr_rtcp_write_sr(buf, sizeof(buf), &sr);
    assert_int_equal(n, 28);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_SR);
    assert_int_equal(pkt.count, 0);
    assert_int_equal(pkt.len, 28);
    cr_rtcp_sr_t got;
    assert_int_equal(cr_rtcp_sr_parse(&pkt, &got), 0);
    assert_int_equal(got.ssrc, sr.ssrc);
    assert_true(got.ntp == sr.ntp);
    assert_int_equal(got.rtp_ts, sr.rtp_ts);
    assert_int_equal(got.packet_count, 42);
    assert_int_equal(got.octet_count, 4242);
    uint32_t sender = 0;
    cr_rtcp_report_block_t rb;
    assert_int_equal(cr_rtcp_report_block(&pkt, 0, &sender, &rb), CR_ENOTFOUND);
    assert_int_equal(sender, sr.ssrc);
}

static void test_sr_with_block(void **state)
{
    (void)state;
    /* Hand-built SR with RC=1: cumulative loss -3 (0xFFFFFD), fraction 0x40. */
    const uint8_t b[] = {0x81, 200, 0x00, 0x0C, 0, 0, 0, 1,   /* header, SSRC 1 */
                         1, 2, 3, 4, 5, 6, 7, 8,               /* NTP */
                         0, 0, 0, 9, 0, 0, 0, 10, 0, 0, 0, 11, /* RTP ts, packets, octets */
                         0, 0, 0, 2, 0x40, 0xFF, 0xFF, 0xFD,   /* block: SSRC 2, loss */
                         0, 1, 0, 5, 0, 0, 0, 7,               /* ext high seq, jitter */
                         0, 0, 0, 8, 0, 0, 0, 9};              /* LSR, DLSR */
    cr_rtcp_pkt_t pkt = one_pkt(b, sizeof(b));
    cr_rtcp_sr_t sr;
    assert_int_equal(cr_rtcp_sr_parse(&pkt, &sr), 0);
    assert_true(sr.ntp == 0x0102030405060708ull);
    cr_rtcp_report_block_t rb;
    assert_int_equal(cr_rtcp_report_block(&pkt, 0, NULL, &rb), 0);
    assert_int_equal(rb.ssrc, 2);
    assert_int_equal(rb.fraction_lost, 0x40);
    assert_int_equal(rb.cum_lost, -3);
    assert_int_equal(rb.ext_high_seq, 0x00010005);
    assert_int_equal(rb.jitter, 7);
    assert_int_equal(rb.lsr, 8);
    assert_int_equal(rb.dlsr, 9);
    assert_int_equal(cr_rtcp_report_block(&pkt, 1, NULL, &rb), CR_ENOTFOUND);

    /* An SR claiming two blocks but carrying one is truncated. */
    uint8_t c[sizeof(b)];
    memcpy(c, b, sizeof(b));
    c[0] = 0x82;
    pkt = one_pkt(c, sizeof(c));
    assert_int_equal(cr_rtcp_report_block(&pkt, 0, NULL, &rb), CR_ETRUNC);
    /* An SR too short for its sender info. */
    const uint8_t s[] = {0x80, 200, 0x00, 0x01, 0, 0, 0, 1};
    pkt = one_pkt(s, sizeof(s));
    assert_int_equal(cr_rtcp_sr_parse(&pkt, &sr), CR_ETRUNC);
}

static void test_rr_roundtrip(void **state)
{
    (void)state;
    cr_rtcp_report_block_t blocks[2] = {
        {.ssrc = 10, .fraction_lost = 25, .cum_lost = 1000, .ext_high_seq = 70000, .jitter = 33,
         .lsr = 0x12345678, .dlsr = 65536},
        {.ssrc = 11, .fraction_lost = 0, .cum_lost = -1, .ext_high_seq = 5, .jitter = 0},
    };
    uint8_t buf[128];
    assert_int_equal(cr_rtcp_write_rr(buf, 55, 99, blocks, 2), CR_ETOOBIG);
    assert_int_equal(cr_rtcp_write_rr(buf, sizeof(buf), 99, blocks, 32), CR_EINVAL);
    int n = cr_rtcp_write_rr(buf, sizeof(buf), 99, blocks, 2);
    assert_int_equal(n, 8 + 48);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_RR);
    assert_int_equal(pkt.count, 2);
    uint32_t sender;
    cr_rtcp_report_block_t rb;
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(cr_rtcp_report_block(&pkt, i, &sender, &rb), 0);
        assert_int_equal(sender, 99);
        assert_int_equal(rb.ssrc, blocks[i].ssrc);
        assert_int_equal(rb.fraction_lost, blocks[i].fraction_lost);
        assert_int_equal(rb.cum_lost, blocks[i].cum_lost);
        assert_int_equal(rb.ext_high_seq, blocks[i].ext_high_seq);
        assert_int_equal(rb.jitter, blocks[i].jitter);
        assert_int_equal(rb.lsr, blocks[i].lsr);
        assert_int_equal(rb.dlsr, blocks[i].dlsr);
    }
    assert_int_equal(cr_rtcp_report_block(&pkt, 2, NULL, &rb), CR_ENOTFOUND);
    /* An empty RR is valid. */
    n = cr_rtcp_write_rr(buf, sizeof(buf), 99, NULL, 0);
    assert_int_equal(n, 8);
    pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(cr_rtcp_report_block(&pkt, 0, &sender, &rb), CR_ENOTFOUND);
    /* Wrong type. */
    cr_rtcp_sr_t sr;
    assert_int_equal(cr_rtcp_sr_parse(&pkt, &sr), CR_EINVAL);
}

static void test_sdes_bye_writers(void **state)
{
    (void)state;
    uint8_t buf[300];
    int n = cr_rtcp_write_sdes_cname(buf, sizeof(buf), 7, "abcd");
    /* 4 header + 4 SSRC + 2 + 4 text + END, padded to 16. */
    assert_int_equal(n, 16);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_SDES);
    assert_int_equal(pkt.count, 1);
    assert_int_equal(buf[8], 1);
    assert_int_equal(buf[9], 4);
    assert_memory_equal(buf + 10, "abcd", 4);
    assert_int_equal(buf[14], 0);
    assert_int_equal(buf[15], 0);
    /* A text that ends on a word boundary still gets a whole word of nulls. */
    n = cr_rtcp_write_sdes_cname(buf, sizeof(buf), 7, "ab");
    assert_int_equal(n, 16);
    assert_int_equal(buf[12] | buf[13] | buf[14] | buf[15], 0);
    assert_int_equal(cr_rtcp_write_sdes_cname(buf, 15, 7, "abcd"), CR_ETOOBIG);
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(cr_rtcp_write_sdes_cname(buf, sizeof(buf), 7, big), CR_EINVAL);
    big[255] = '\0';
    assert_int_equal(cr_rtcp_write_sdes_cname(buf, sizeof(buf), 7, big), 268);

    n = cr_rtcp_write_bye(buf, sizeof(buf), 0xABCDEF01);
    assert_int_equal(n, 8);
    pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_BYE);
    assert_int_equal(pkt.count, 1);
    assert_int_equal(cr_rtcp_write_bye(buf, 7, 1), CR_ETOOBIG);
}

static void test_compound_sr_sdes(void **state)
{
    (void)state;
    uint8_t buf[128];
    cr_rtcp_sr_t sr = {.ssrc = 5, .ntp = 1, .rtp_ts = 2};
    int n = cr_rtcp_write_sr(buf, sizeof(buf), &sr);
    n += cr_rtcp_write_sdes_cname(buf + n, sizeof(buf) - (size_t)n, 5, "relay@classroom");
    n += cr_rtcp_write_bye(buf + n, sizeof(buf) - (size_t)n, 5);
    const uint8_t *p = buf, *end = buf + n;
    cr_rtcp_pkt_t pkt;
    uint8_t types[4];
    int k = 0, r;
    while ((r = cr_rtcp_next(&p, end, &pkt)) == 1 && k < 4)
        types[k++] = pkt.type;
    assert_int_equal(r, 0);
    assert_int_equal(k, 3);
    assert_int_equal(types[0], CR_RTCP_SR);
    assert_int_equal(types[1], CR_RTCP_SDES);
    assert_int_equal(types[2], CR_RTCP_BYE);
}

static void test_compound_rr_nack_pli(void **state)
{
    (void)state;
    uint8_t buf[128];
    const uint16_t lost[] = {1000, 1002};
    int n = cr_rtcp_write_rr(buf, sizeof(buf), 1, NULL, 0);
    n += cr_rtcp_write_nack(buf + n, sizeof(buf) - (size_t)n, 1, 2, lost, 2);
    n += cr_rtcp_write_pli(buf + n, sizeof(buf) - (size_t)n, 1, 2);
    assert_int_equal(n, 8 + 16 + 12);
    const uint8_t *p = buf, *end = buf + n;
    cr_rtcp_pkt_t pkt;
    uint16_t seqs[8];
    uint32_t s, m;
    int saw_nack = 0, saw_pli = 0;
    while (cr_rtcp_next(&p, end, &pkt) == 1) {
        if (pkt.type == CR_RTCP_RTPFB && pkt.count == CR_RTCP_RTPFB_NACK) {
            assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 8), 2);
            assert_int_equal(seqs[0], 1000);
            assert_int_equal(seqs[1], 1002);
            saw_nack = 1;
        } else if (pkt.type == CR_RTCP_PSFB && pkt.count == CR_RTCP_PSFB_PLI) {
            assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &s, &m), 0);
            assert_int_equal(s, 1);
            assert_int_equal(m, 2);
            saw_pli = 1;
        }
    }
    assert_true(saw_nack && saw_pli);
    assert_ptr_equal(p, end);
}

static void test_nack_writer_packing(void **state)
{
    (void)state;
    uint8_t buf[128];
    /* 100 is a PID covering 101, 105 and 116; 117 needs a new item; 65535 and 0 wrap. */
    const uint16_t lost[] = {100, 101, 105, 116, 117, 65535, 0, 15};
    int n = cr_rtcp_write_nack(buf, sizeof(buf), 1, 2, lost, 8);
    assert_int_equal(n, 12 + 3 * 4);
    assert_int_equal(buf[0], 0x81);
    assert_int_equal(buf[1], 205);
    assert_int_equal(buf[3], 5); /* length in words minus one */
    /* Item 1: PID 100, BLP bits 0 (101), 4 (105) and 15 (116). */
    assert_int_equal(buf[12] << 8 | buf[13], 100);
    assert_int_equal(buf[14] << 8 | buf[15], 0x8011);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    uint16_t seqs[64];
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 64), 8);
    const uint16_t want[] = {100, 101, 105, 116, 117, 65535, 0, 15};
    assert_memory_equal(seqs, want, sizeof(want));
    /* max limits the output. */
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 3), 3);
    assert_int_equal(seqs[2], 105);

    /* Unordered input and duplicates are still all covered. */
    const uint16_t messy[] = {50, 40, 50, 41, 60};
    n = cr_rtcp_write_nack(buf, sizeof(buf), 1, 2, messy, 5);
    pkt = one_pkt(buf, (size_t)n);
    int k = cr_rtcp_nack_parse(&pkt, seqs, 64);
    for (int j = 0; j < 5; j++) {
        int found = 0;
        for (int i = 0; i < k; i++)
            found |= seqs[i] == messy[j];
        assert_true(found);
    }
    assert_int_equal(cr_rtcp_write_nack(buf, sizeof(buf), 1, 2, lost, 0), CR_EINVAL);
    assert_int_equal(cr_rtcp_write_nack(buf, 19, 1, 2, lost, 8), CR_ETOOBIG);
}

static void test_nack_malformed(void **state)
{
    (void)state;
    /* A NACK with no FCI item. */
    const uint8_t empty[] = {0x81, 205, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    cr_rtcp_pkt_t pkt = one_pkt(empty, sizeof(empty));
    uint16_t seqs[4];
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 4), CR_ETRUNC);
    /* Feedback too short for its SSRCs. */
    const uint8_t short_fb[] = {0x81, 205, 0x00, 0x01, 0, 0, 0, 1};
    pkt = one_pkt(short_fb, sizeof(short_fb));
    uint32_t s, m;
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &s, &m), CR_ETRUNC);
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 4), CR_ETRUNC);
    /* A PLI is not a NACK, an SR is not feedback. */
    const uint8_t pli[] = {0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    pkt = one_pkt(pli, sizeof(pli));
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 4), CR_EINVAL);
    const uint8_t sr[] = {0x80, 200, 0x00, 0x01, 0, 0, 0, 1};
    pkt = one_pkt(sr, sizeof(sr));
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &s, &m), CR_EINVAL);
    /* Padding is not read as an item: one item plus 4 bytes of padding. */
    const uint8_t padded[] = {0xA1, 205, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2,
                              0x00, 0x07, 0x00, 0x00, 0, 0, 0, 4};
    pkt = one_pkt(padded, sizeof(padded));
    assert_int_equal(cr_rtcp_nack_parse(&pkt, seqs, 4), 1);
    assert_int_equal(seqs[0], 7);
}

static void test_pli_fir(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(cr_rtcp_write_pli(buf, 11, 1, 2), CR_ETOOBIG);
    int n = cr_rtcp_write_pli(buf, sizeof(buf), 0xA, 0xB);
    assert_int_equal(n, 12);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_PSFB);
    assert_int_equal(pkt.count, CR_RTCP_PSFB_PLI);
    uint32_t s, m;
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &s, &m), 0);
    assert_int_equal(s, 0xA);
    assert_int_equal(m, 0xB);
    cr_rtcp_fir_entry_t e[2];
    assert_int_equal(cr_rtcp_fir_parse(&pkt, e, 2), CR_EINVAL);

    assert_int_equal(cr_rtcp_write_fir(buf, 19, 1, 2, 3), CR_ETOOBIG);
    n = cr_rtcp_write_fir(buf, sizeof(buf), 0xA, 0xB, 77);
    assert_int_equal(n, 20);
    pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.count, CR_RTCP_PSFB_FIR);
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &s, &m), 0);
    assert_int_equal(m, 0); /* RFC 5104: unused in the header */
    assert_int_equal(cr_rtcp_fir_parse(&pkt, e, 2), 1);
    assert_int_equal(e[0].ssrc, 0xB);
    assert_int_equal(e[0].seq_nr, 77);
    /* A FIR with no entry. */
    const uint8_t empty[] = {0x84, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
    pkt = one_pkt(empty, sizeof(empty));
    assert_int_equal(cr_rtcp_fir_parse(&pkt, e, 2), CR_ETRUNC);
    /* Two entries, room for one. */
    const uint8_t two[] = {0x84, 206, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0,
                           0, 0, 0, 5, 9, 0, 0, 0, 0, 0, 0, 6, 10, 0, 0, 0};
    pkt = one_pkt(two, sizeof(two));
    assert_int_equal(cr_rtcp_fir_parse(&pkt, e, 2), 2);
    assert_int_equal(e[1].ssrc, 6);
    assert_int_equal(e[1].seq_nr, 10);
    assert_int_equal(cr_rtcp_fir_parse(&pkt, e, 1), 1);
}

static void test_remb(void **state)
{
    (void)state;
    uint8_t buf[64];
    const uint32_t ssrcs[] = {0x1111, 0x2222};
    int n = cr_rtcp_write_remb(buf, sizeof(buf), 9, 1000000, ssrcs, 2);
    assert_int_equal(n, 28);
    cr_rtcp_pkt_t pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(pkt.type, CR_RTCP_PSFB);
    assert_int_equal(pkt.count, CR_RTCP_PSFB_AFB);
    cr_rtcp_remb_t r;
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), 0);
    assert_true(r.bitrate_bps == 1000000); /* 250000 << 2, exact */
    assert_int_equal(r.num_ssrc, 2);
    assert_int_equal(r.ssrcs[0], 0x1111);
    assert_int_equal(r.ssrcs[1], 0x2222);
    assert_int_equal(buf[17] >> 2, 2);

    /* A value needing rounding comes back at most one mantissa step lower. */
    uint64_t big = 123456789012ull;
    n = cr_rtcp_write_remb(buf, sizeof(buf), 9, big, NULL, 0);
    pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), 0);
    unsigned exp = buf[17] >> 2;
    assert_true(r.bitrate_bps <= big && big - r.bitrate_bps < (1ull << exp));
    assert_true((r.bitrate_bps >> exp) > 0x1FFFF); /* the mantissa uses all 18 bits */
    n = cr_rtcp_write_remb(buf, sizeof(buf), 9, UINT64_MAX, NULL, 0);
    pkt = one_pkt(buf, (size_t)n);
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), 0);
    assert_true(r.bitrate_bps > (UINT64_MAX >> 1));

    assert_int_equal(cr_rtcp_write_remb(buf, sizeof(buf), 9, 1, ssrcs, 9), CR_EINVAL);
    assert_int_equal(cr_rtcp_write_remb(buf, 27, 9, 1, ssrcs, 2), CR_ETOOBIG);
}

static void test_remb_malformed(void **state)
{
    (void)state;
    uint8_t b[] = {0x8F, 206, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0,
                   'R',  'E', 'M',  'B',  1, 0xFF, 0xFF, 0xFF, 0, 0, 0, 7};
    cr_rtcp_pkt_t pkt = one_pkt(b, sizeof(b));
    cr_rtcp_remb_t r;
    /* Exponent 63 with a full mantissa saturates rather than wrapping. */
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), 0);
    assert_true(r.bitrate_bps == UINT64_MAX);
    assert_int_equal(r.ssrcs[0], 7);
    /* Wrong identifier. */
    b[12] = 'X';
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), CR_EINVAL);
    b[12] = 'R';
    /* More SSRCs than the packet holds. */
    b[16] = 2;
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), CR_ETRUNC);
    /* Too short for the bitrate field. */
    b[3] = 0x03;
    pkt = one_pkt(b, 16);
    assert_int_equal(cr_rtcp_remb_parse(&pkt, &r), CR_ETRUNC);
}

/* Records the TWCC callbacks. */
typedef struct twcc_log {
    int n;
    uint16_t seq[32];
    int recv[32];
    int32_t delta[32];
} twcc_log_t;

static void twcc_cb(void *arg, uint16_t seq, int received, int32_t delta)
{
    twcc_log_t *l = arg;
    assert_true(l->n < 32);
    l->seq[l->n] = seq;
    l->recv[l->n] = received;
    l->delta[l->n] = delta;
    l->n++;
}

/*
 * Built by hand per draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1: base seq 65534
 * (so the numbers wrap), 14 statuses, reference time -2, feedback count 7.
 *   0x2003  run length chunk, symbol 1 (small delta), run 3       -> 65534, 65535, 0
 *   0xC900  2-bit vector: 0 2 1 0 0 0 0                            -> 1 .. 7
 *   0xAC00  1-bit vector: 1 0 1 1 (10 more symbols unused)         -> 8 .. 11
 * Deltas: 4, 8, 255 | -100 (2 bytes), 1 | 10, 20, 30; one byte of RTCP padding.
 */
static const uint8_t twcc_pkt[] = {0xAF, 205,  0x00, 0x08, 0,    0,    0,    1,    0,
                                   0,    0,    2,    0xFF, 0xFE, 0x00, 0x0E, 0xFF, 0xFF,
                                   0xFE, 7,    0x20, 0x03, 0xC9, 0x00, 0xAC, 0x00, 4,
                                   8,    255,  0xFF, 0x9C, 1,    10,   20,   30,   1};

static void test_twcc_hand_built(void **state)
{
    (void)state;
    cr_rtcp_pkt_t pkt = one_pkt(twcc_pkt, sizeof(twcc_pkt));
    assert_int_equal(pkt.type, CR_RTCP_RTPFB);
    assert_int_equal(pkt.count, CR_RTCP_RTPFB_TWCC);
    cr_rtcp_twcc_t t;
    twcc_log_t l = {0};
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), 0);
    assert_int_equal(t.media_ssrc, 2);
    assert_int_equal(t.base_seq, 65534);
    assert_int_equal(t.status_count, 14);
    assert_int_equal(t.reference_time, -2);
    assert_int_equal(t.fb_pkt_count, 7);
    assert_int_equal(l.n, 14);
    const uint16_t seq[] = {65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    const int recv[] = {1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1};
    const int32_t delta[] = {4, 8, 255, 0, -100, 1, 0, 0, 0, 0, 10, 0, 20, 30};
    for (int i = 0; i < 14; i++) {
        assert_int_equal(l.seq[i], seq[i]);
        assert_int_equal(l.recv[i], recv[i]);
        assert_int_equal(l.delta[i], delta[i]);
    }
    /* A NULL callback is allowed. */
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, NULL, NULL), 0);
    /* Not TWCC. */
    const uint8_t nack[] = {0x81, 205, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0};
    pkt = one_pkt(nack, sizeof(nack));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EINVAL);
}

static void test_twcc_malformed(void **state)
{
    (void)state;
    uint8_t b[sizeof(twcc_pkt)];
    cr_rtcp_pkt_t pkt;
    cr_rtcp_twcc_t t;
    twcc_log_t l = {0};

    /* One status announced but no chunk follows: the chunks run past the packet. */
    const uint8_t no_chunk[] = {0x8F, 205, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 1, 0, 0, 1, 3};
    pkt = one_pkt(no_chunk, sizeof(no_chunk));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EMALFORMED);

    /* More statuses than the chunks describe: the deltas are read as chunks and then run out. */
    memcpy(b, twcc_pkt, sizeof(b));
    b[15] = 0xFF;
    pkt = one_pkt(b, sizeof(b));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EMALFORMED);
    assert_int_equal(l.n, 0);

    /* A run of 200 small deltas where only a few bytes remain. */
    memcpy(b, twcc_pkt, sizeof(b));
    b[15] = 200;
    b[20] = 0x20;
    b[21] = 200;
    pkt = one_pkt(b, sizeof(b));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EMALFORMED);
    assert_int_equal(l.n, 0);

    /* The reserved symbol 3. */
    memcpy(b, twcc_pkt, sizeof(b));
    b[20] = 0x60;
    pkt = one_pkt(b, sizeof(b));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EMALFORMED);
    memcpy(b, twcc_pkt, sizeof(b));
    b[22] = 0xCF; /* 2-bit vector 0 3 ... */
    pkt = one_pkt(b, sizeof(b));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_EMALFORMED);
    assert_int_equal(l.n, 0);

    /* Shorter than the fixed TWCC fields. */
    const uint8_t short_twcc[] = {0x8F, 205, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1};
    pkt = one_pkt(short_twcc, sizeof(short_twcc));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), CR_ETRUNC);

    /* Zero statuses and no chunks is an empty, valid report. */
    const uint8_t none[] = {0x8F, 205, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 0, 0, 0, 1, 3};
    pkt = one_pkt(none, sizeof(none));
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &t, twcc_cb, &l), 0);
    assert_int_equal(t.reference_time, 1);
    assert_int_equal(l.n, 0);
}

/* Everything cr_rtcp_twcc_parse reported for a written feedback, for the round trips below. */
#define RT_MAX 70000
typedef struct twcc_rt {
    unsigned n;
    uint16_t seq[RT_MAX];
    uint8_t recv[RT_MAX];
    int32_t delta[RT_MAX];
} twcc_rt_t;

static twcc_rt_t rt;
static cr_rtcp_twcc_status_t rt_st[RT_MAX];
static uint8_t rt_buf[300000];

static void rt_cb(void *arg, uint16_t seq, int received, int32_t delta)
{
    twcc_rt_t *l = arg;
    assert_true(l->n < RT_MAX);
    l->seq[l->n] = seq;
    l->recv[l->n] = (uint8_t)received;
    l->delta[l->n] = delta;
    l->n++;
}

/* Writes rt_st[0..n) as feedback, reads it back and checks every field; returns the length. */
static int twcc_round_trip(uint16_t base, unsigned n, int32_t ref, uint8_t fb_count)
{
    cr_rtcp_twcc_t fb = {.media_ssrc = 0xCAFEBABE, .base_seq = base, .status_count = (uint16_t)n,
                         .reference_time = ref, .fb_pkt_count = fb_count};
    int len = cr_rtcp_write_twcc(rt_buf, sizeof(rt_buf), 0x01020304, &fb, rt_st);
    assert_true(len > 0);
    assert_int_equal(len % 4, 0);
    assert_int_equal(rt_buf[0] & 0x20, 0); /* zero padding, no P bit */
    cr_rtcp_pkt_t pkt = one_pkt(rt_buf, (size_t)len);
    assert_int_equal(pkt.type, CR_RTCP_RTPFB);
    assert_int_equal(pkt.count, CR_RTCP_RTPFB_TWCC);
    uint32_t snd, media;
    assert_int_equal(cr_rtcp_fb_ssrcs(&pkt, &snd, &media), 0);
    assert_int_equal(snd, 0x01020304);
    assert_int_equal(media, 0xCAFEBABE);
    cr_rtcp_twcc_t got;
    rt.n = 0;
    assert_int_equal(cr_rtcp_twcc_parse(&pkt, &got, rt_cb, &rt), 0);
    assert_int_equal(got.media_ssrc, 0xCAFEBABE);
    assert_int_equal(got.base_seq, base);
    assert_int_equal(got.status_count, n);
    assert_int_equal(got.reference_time, ref);
    assert_int_equal(got.fb_pkt_count, fb_count);
    assert_int_equal(rt.n, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(rt.seq[i], (uint16_t)(base + i));
        assert_int_equal(rt.recv[i], rt_st[i].received);
        assert_int_equal(rt.delta[i], rt_st[i].received ? rt_st[i].delta_250us : 0);
    }
    /* One byte less than needed does not fit. */
    assert_int_equal(cr_rtcp_write_twcc(rt_buf, (size_t)len - 1, 0x01020304, &fb, rt_st), CR_ETOOBIG);
    return len;
}

static void st_set(unsigned i, int received, int32_t delta)
{
    rt_st[i].received = (uint8_t)received;
    rt_st[i].delta_250us = received ? delta : 0;
}

static void test_twcc_write_small(void **state)
{
    (void)state;
    /* All received, small deltas of varying size: one-bit vectors or runs, one byte per delta. */
    for (unsigned i = 0; i < 40; i++)
        st_set(i, 1, (int32_t)(i * 37 % 256));
    int len = twcc_round_trip(1000, 40, 12345, 3);
    /* 20 fixed + 1 run-length chunk of 40 symbol-1 (2 bytes) + 40 deltas, padded: 64. */
    assert_int_equal(len, 64);
    assert_int_equal(rt_buf[20], 0x20);
    assert_int_equal(rt_buf[21], 40);
    /* A single packet. */
    st_set(0, 1, 0);
    assert_int_equal(twcc_round_trip(7, 1, 0, 0), 24);
}

static void test_twcc_write_losses(void **state)
{
    (void)state;
    /* Alternating loss: one-bit vectors of 14 (two bytes each). */
    for (unsigned i = 0; i < 30; i++)
        st_set(i, i % 2, 4);
    int len = twcc_round_trip(50, 30, -5, 255);
    assert_int_equal(len, (20 + 3 * 2 + 15 + 3) & ~3);
    /* T=1 S=0, then 0 1 0 1 ... (seq 50 lost, 51 received, ...). */
    assert_int_equal(rt_buf[20], 0x95);
    assert_int_equal(rt_buf[21], 0x55);
    /* The last packets lost, and a packet count not a multiple of a chunk's. */
    for (unsigned i = 0; i < 23; i++)
        st_set(i, i < 3 || i == 10, 2);
    twcc_round_trip(65530, 23, 1, 1);
    /* Nothing but the first and last received, with 9000 lost between: run-length chunks. */
    st_set(0, 1, 200);
    for (unsigned i = 1; i < 9001; i++)
        st_set(i, 0, 0);
    st_set(9001, 1, 1000);
    len = twcc_round_trip(65000, 9002, 100, 9);
    /*
     * A one-bit vector for the first packet and 13 losses, runs of 8191 and 796 losses, a vector for
     * the last packet; deltas of 1 and 2 bytes.
     */
    assert_int_equal(len, (20 + 4 * 2 + 3 + 3) & ~3);
}

static void test_twcc_write_large_negative(void **state)
{
    (void)state;
    /* Large and negative deltas need two bytes and two-bit vectors. */
    const int32_t d[] = {0, 255, 256, -1, 32767, -32768, 3, 1000, -250, 7, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned n = sizeof(d) / sizeof(d[0]);
    for (unsigned i = 0; i < n; i++)
        st_set(i, i != 9, d[i]);
    twcc_round_trip(65535, n, -0x800000, 4);
    /* A long run of large deltas: run-length chunks of symbol 2, across the 16-bit wrap. */
    for (unsigned i = 0; i < 20000; i++)
        st_set(i, 1, -2 - (int32_t)(i % 3));
    int len = twcc_round_trip(60000, 20000, 0x7FFFFF, 0);
    assert_int_equal(len, 20 + 3 * 2 + 20000 * 2 + 2);
    assert_int_equal(rt_buf[20], 0x40 | 0x1F); /* symbol 2, run 8191 */
    assert_int_equal(rt_buf[21], 0xFF);
}

static void test_twcc_write_big_count(void **state)
{
    (void)state;
    /* The largest count: a mix of every chunk kind over 65535 packets. */
    unsigned n = 65535;
    for (unsigned i = 0; i < n; i++) {
        unsigned phase = (i / 1000) % 4;
        if (phase == 0)
            st_set(i, 1, (int32_t)(i % 200));
        else if (phase == 1)
            st_set(i, i % 5 != 0, (int32_t)(i % 250));
        else if (phase == 2)
            st_set(i, i % 3 != 0, (int32_t)(i % 7) * 100 - 300);
        else
            st_set(i, 0, 0);
    }
    twcc_round_trip(1, n, 77, 77);
}

static void test_twcc_write_errors(void **state)
{
    (void)state;
    uint8_t buf[64];
    cr_rtcp_twcc_status_t st[2] = {{1, 5}, {1, 6}};
    cr_rtcp_twcc_t fb = {.media_ssrc = 1, .base_seq = 0, .status_count = 2};
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), 24);
    assert_int_equal(cr_rtcp_write_twcc(buf, 23, 9, &fb, st), CR_ETOOBIG);
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, NULL, st), CR_EINVAL);
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, NULL), CR_EINVAL);
    fb.status_count = 0;
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), CR_EINVAL);
    fb.status_count = 2;
    fb.reference_time = 0x800000; /* beyond 24-bit signed */
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), CR_EINVAL);
    fb.reference_time = -0x800001;
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), CR_EINVAL);
    fb.reference_time = 0;
    /* A delta that does not fit 16 bits: the caller must split the feedback. */
    st[1].delta_250us = 32768;
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), CR_EINVAL);
    st[1].delta_250us = -32769;
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), CR_EINVAL);
    /* ... unless that packet was not received: its delta is ignored. */
    st[1].received = 0;
    assert_int_equal(cr_rtcp_write_twcc(buf, sizeof(buf), 9, &fb, st), 24);
}

static void test_next_malformed(void **state)
{
    (void)state;
    cr_rtcp_pkt_t pkt;
    const uint8_t *p;
    /* Empty input is the end. */
    const uint8_t pli[] = {0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    p = pli;
    assert_int_equal(cr_rtcp_next(&p, pli, &pkt), 0);
    /* A header cut short. */
    p = pli;
    assert_int_equal(cr_rtcp_next(&p, pli + 3, &pkt), CR_ETRUNC);
    /* A length field past the end. */
    p = pli;
    assert_int_equal(cr_rtcp_next(&p, pli + 8, &pkt), CR_ETRUNC);
    assert_ptr_equal(p, pli);
    /* Version 1. */
    const uint8_t v1[] = {0x41, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    p = v1;
    assert_int_equal(cr_rtcp_next(&p, v1 + sizeof(v1), &pkt), CR_EMALFORMED);
    /* Padding count 0, and padding longer than the body. */
    uint8_t pad[] = {0xA1, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
    p = pad;
    assert_int_equal(cr_rtcp_next(&p, pad + sizeof(pad), &pkt), CR_EMALFORMED);
    pad[11] = 9;
    p = pad;
    assert_int_equal(cr_rtcp_next(&p, pad + sizeof(pad), &pkt), CR_EMALFORMED);
    pad[11] = 8;
    p = pad;
    assert_int_equal(cr_rtcp_next(&p, pad + sizeof(pad), &pkt), 1);
    /* A second sub-packet that is truncated stops the walk after the first. */
    uint8_t two[20];
    memcpy(two, pli, sizeof(pli));
    memcpy(two + 12, pli, 8);
    p = two;
    assert_int_equal(cr_rtcp_next(&p, two + sizeof(two), &pkt), 1);
    assert_int_equal(cr_rtcp_next(&p, two + sizeof(two), &pkt), CR_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sr_roundtrip),
        cmocka_unit_test(test_sr_with_block),
        cmocka_unit_test(test_rr_roundtrip),
        cmocka_unit_test(test_sdes_bye_writers),
        cmocka_unit_test(test_compound_sr_sdes),
        cmocka_unit_test(test_compound_rr_nack_pli),
        cmocka_unit_test(test_nack_writer_packing),
        cmocka_unit_test(test_nack_malformed),
        cmocka_unit_test(test_pli_fir),
        cmocka_unit_test(test_remb),
        cmocka_unit_test(test_remb_malformed),
        cmocka_unit_test(test_twcc_hand_built),
        cmocka_unit_test(test_twcc_malformed),
        cmocka_unit_test(test_twcc_write_small),
        cmocka_unit_test(test_twcc_write_losses),
        cmocka_unit_test(test_twcc_write_large_negative),
        cmocka_unit_test(test_twcc_write_big_count),
        cmocka_unit_test(test_twcc_write_errors),
        cmocka_unit_test(test_next_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
