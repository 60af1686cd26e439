#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_rewrite.h"

#define SSRC_A 0xAAAA0001u
#define SSRC_B 0xBBBB0002u
#define T0 1000000u /* an arbitrary monotonic start, in us */

static void map(cr_rewriter_t *r, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now,
                uint16_t want_seq, uint32_t want_ts)
{
    uint16_t s;
    uint32_t t;
    cr_rewriter_map(r, ssrc, seq, ts, now, &s, &t);
    assert_int_equal(s, want_seq);
    assert_int_equal(t, want_ts);
}

static void test_first_packet_and_steady(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 0x5555, 90000, 1000, 5000);
    assert_int_equal(r.out_ssrc, 0x5555);
    uint16_t in;
    assert_int_equal(cr_rewriter_unmap_seq(&r, 1000, &in), CR_ENOTFOUND);
    map(&r, SSRC_A, 10, 100, T0, 1000, 5000);
    map(&r, SSRC_A, 11, 3100, T0 + 33000, 1001, 8000);
    map(&r, SSRC_A, 12, 6100, T0 + 66000, 1002, 11000);
    /* A gap on the input is a gap on the output. */
    map(&r, SSRC_A, 15, 9100, T0 + 99000, 1005, 14000);
    assert_int_equal(cr_rewriter_unmap_seq(&r, 1002, &in), 0);
    assert_int_equal(in, 12);
    assert_int_equal(cr_rewriter_map_ts(&r, 9100), 14000);
}

static void test_source_change(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 90000, 1000, 5000);
    map(&r, SSRC_A, 10, 100, T0, 1000, 5000);
    map(&r, SSRC_A, 11, 3100, T0 + 33000, 1001, 8000);
    /* The publisher comes back with a new SSRC 20 ms later: +1 seq, +1800 ts (20 ms at 90 kHz). */
    map(&r, SSRC_B, 40000, 777777, T0 + 53000, 1002, 9800);
    map(&r, SSRC_B, 40001, 780777, T0 + 86000, 1003, 12800);
    uint16_t in;
    assert_int_equal(cr_rewriter_unmap_seq(&r, 1003, &in), 0);
    assert_int_equal(in, 40001);
    assert_int_equal(r.src_ssrc, SSRC_B);

    /* Going back to A is another change. */
    map(&r, SSRC_A, 12, 6100, T0 + 86000 + 10, 1004, 12801);
}

static void test_explicit_switch(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 48000, 0, 0);
    map(&r, SSRC_A, 500, 960, T0, 0, 0);
    map(&r, SSRC_A, 501, 1920, T0 + 20000, 1, 960);
    /* A simulcast layer switch keeps the SSRC here but jumps in seq and ts. */
    cr_rewriter_switch(&r);
    map(&r, SSRC_A, 9000, 123456, T0 + 30000, 2, 960 + 480);
    map(&r, SSRC_A, 9001, 124416, T0 + 50000, 3, 960 + 480 + 960);
    /* No time elapsed at all still advances the timestamp by one. */
    cr_rewriter_switch(&r);
    map(&r, SSRC_A, 100, 5, T0 + 50000, 4, 2401);
    /* A clock that went backwards is treated the same way. */
    cr_rewriter_switch(&r);
    map(&r, SSRC_A, 200, 5, T0, 5, 2402);
}

static void test_reordering_older_packets(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 90000, 100, 1000);
    map(&r, SSRC_A, 10, 0, T0, 100, 1000);
    map(&r, SSRC_A, 12, 3000, T0 + 33000, 102, 4000);
    /* 11 arrives late: it maps with the same offsets and does not move the high-water mark. */
    map(&r, SSRC_A, 11, 1500, T0 + 34000, 101, 2500);
    assert_int_equal(r.last_seq, 102);
    map(&r, SSRC_A, 13, 6000, T0 + 66000, 103, 7000);

    /* After a switch, a packet older than the rebase point of the same source uses the new offsets. */
    cr_rewriter_switch(&r);
    map(&r, SSRC_A, 20, 9000, T0 + 66000 + 1000, 104, 7090);
    map(&r, SSRC_A, 19, 8000, T0 + 68000, 103, 6090);
    assert_int_equal(r.last_seq, 104);
    map(&r, SSRC_A, 21, 12000, T0 + 99000, 105, 10090);
    /* An SSRC change after the reordering continues after the highest number, not the late one. */
    map(&r, SSRC_B, 7, 7, T0 + 99000 + 100000, 106, 10090 + 9000);
}

static void test_seq_wrap(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 90000, 65534, 0);
    map(&r, SSRC_A, 100, 0, T0, 65534, 0);
    map(&r, SSRC_A, 101, 10, T0 + 1, 65535, 10);
    map(&r, SSRC_A, 102, 20, T0 + 2, 0, 20);
    map(&r, SSRC_A, 103, 30, T0 + 3, 1, 30);
    /* A late packet from before the output wrap is still "older". */
    map(&r, SSRC_A, 101, 10, T0 + 4, 65535, 10);
    assert_int_equal(r.last_seq, 1);
    /* The next source continues after the wrap. */
    map(&r, SSRC_B, 65535, 0, T0 + 1003, 2, 30 + 90);
    /* The input wrapping on its own. */
    map(&r, SSRC_B, 0, 90, T0 + 2003, 3, 30 + 180);
    uint16_t in;
    assert_int_equal(cr_rewriter_unmap_seq(&r, 3, &in), 0);
    assert_int_equal(in, 0);
    assert_int_equal(cr_rewriter_unmap_seq(&r, 2, &in), 0);
    assert_int_equal(in, 65535);
}

static void test_ts_wrap(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 90000, 0, 0xFFFFFF00u);
    map(&r, SSRC_A, 1, 0, T0, 0, 0xFFFFFF00u);
    map(&r, SSRC_A, 2, 3000, T0 + 33333, 1, 3000 - 0x100);
    /* The input timestamp wraps too. */
    cr_rewriter_init(&r, 1, 90000, 0, 1000);
    map(&r, SSRC_A, 1, 0xFFFFFFFFu, T0, 0, 1000);
    map(&r, SSRC_A, 2, 2999, T0 + 33333, 1, 4000);
    /* A rebase whose step crosses the 32-bit boundary. */
    cr_rewriter_init(&r, 1, 90000, 0, 0xFFFFFFF0u);
    map(&r, SSRC_A, 1, 0, T0, 0, 0xFFFFFFF0u);
    map(&r, SSRC_B, 1, 0, T0 + 1000, 1, 0xFFFFFFF0u + 90);
    assert_int_equal(r.last_ts, 74);
}

static void test_long_gap(void **state)
{
    (void)state;
    cr_rewriter_t r;
    cr_rewriter_init(&r, 1, 90000, 0, 0);
    map(&r, SSRC_A, 1, 0, T0, 0, 0);
    /* Ten million seconds later: the step is taken modulo 2^32 without overflowing. */
    uint64_t gap = 10000000ull * 1000000ull;
    uint32_t want = (uint32_t)(gap / 1000000ull * 90000ull);
    map(&r, SSRC_B, 1, 0, T0 + gap, 1, want);
    /* A fractional step rounds down: 5 us at 90 kHz is 0.45 units, so the minimum of 1 applies. */
    cr_rewriter_switch(&r);
    map(&r, SSRC_B, 10, 0, T0 + gap + 5, 2, want + 1);
    /* 1 ms at 8 kHz is exactly 8. */
    cr_rewriter_init(&r, 1, 8000, 0, 0);
    map(&r, SSRC_A, 1, 0, T0, 0, 0);
    map(&r, SSRC_B, 1, 0, T0 + 1000, 1, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_packet_and_steady),
        cmocka_unit_test(test_source_change),
        cmocka_unit_test(test_explicit_switch),
        cmocka_unit_test(test_reordering_older_packets),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_ts_wrap),
        cmocka_unit_test(test_long_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
