#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_history.h"

/* Fills buf with a pattern derived from seq so a wrong slot is noticed. */
static void pattern(uint8_t *buf, size_t len, uint16_t seq)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 31 + i);
}

static void test_put_get(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 8, 64), 0);
    uint8_t pkt[64], want[64];
    size_t len = 0;
    for (uint16_t s = 100; s < 104; s++) {
        pattern(pkt, 20 + s % 4, s);
        assert_int_equal(cr_history_put(&h, s, pkt, 20 + s % 4, 1000 + s), 0);
    }
    for (uint16_t s = 100; s < 104; s++) {
        const uint8_t *p = cr_history_get(&h, s, 2000, 0, &len);
        assert_non_null(p);
        assert_int_equal(len, 20 + s % 4);
        pattern(want, len, s);
        assert_memory_equal(p, want, len);
    }
    /* Never stored: an empty slot and a slot holding another seq. */
    assert_null(cr_history_get(&h, 99, 2000, 0, &len));
    assert_null(cr_history_get(&h, 104, 2000, 0, &len));
    /* A full-size and an empty packet. */
    pattern(pkt, 64, 7);
    assert_int_equal(cr_history_put(&h, 7, pkt, 64, 1), 0);
    assert_non_null(cr_history_get(&h, 7, 1, 0, &len));
    assert_int_equal(len, 64);
    assert_int_equal(cr_history_put(&h, 6, NULL, 0, 1), 0);
    assert_non_null(cr_history_get(&h, 6, 1, 0, &len));
    assert_int_equal(len, 0);
    /* now_us must be non-zero, since 0 marks an empty slot. */
    assert_int_equal(cr_history_put(&h, 5, pkt, 10, 0), CR_EINVAL);
    cr_history_dispose(&h);
}

static void test_overwrite(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 4, 16), 0);
    uint8_t pkt[16];
    size_t len;
    for (uint16_t s = 0; s < 6; s++) {
        pattern(pkt, 16, s);
        assert_int_equal(cr_history_put(&h, s, pkt, 16, 10), 0);
    }
    /* 0 and 1 were overwritten by 4 and 5; 2..5 remain. */
    assert_null(cr_history_get(&h, 0, 10, 0, &len));
    assert_null(cr_history_get(&h, 1, 10, 0, &len));
    for (uint16_t s = 2; s < 6; s++) {
        const uint8_t *p = cr_history_get(&h, s, 10, 0, &len);
        assert_non_null(p);
        pattern(pkt, 16, s);
        assert_memory_equal(p, pkt, 16);
    }
    cr_history_dispose(&h);
}

static void test_max_age(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 16, 8), 0);
    const uint8_t pkt[4] = {1, 2, 3, 4};
    size_t len;
    assert_int_equal(cr_history_put(&h, 1, pkt, 4, 1000000), 0);
    assert_non_null(cr_history_get(&h, 1, 1500000, 500000, &len));
    assert_null(cr_history_get(&h, 1, 1500001, 500000, &len));
    /* 0 disables the age check; a clock behind the store time counts as age 0. */
    assert_non_null(cr_history_get(&h, 1, 9000000, 0, &len));
    assert_non_null(cr_history_get(&h, 1, 999999, 1, &len));
    cr_history_dispose(&h);
}

static void test_too_big(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 4, 8), 0);
    uint8_t pkt[9] = {0};
    size_t len;
    assert_int_equal(cr_history_put(&h, 1, pkt, 8, 5), 0);
    assert_int_equal(cr_history_put(&h, 1, pkt, 9, 6), CR_ETOOBIG);
    /* The earlier copy is untouched. */
    assert_non_null(cr_history_get(&h, 1, 6, 0, &len));
    assert_int_equal(len, 8);
    cr_history_dispose(&h);
}

static void test_init_rounding_and_limits(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 5, 8), 0);
    assert_int_equal(h.n_slots, 8);
    cr_history_dispose(&h);
    assert_int_equal(cr_history_init(&h, 1, 8), 0);
    assert_int_equal(h.n_slots, 1);
    cr_history_dispose(&h);
    assert_int_equal(cr_history_init(&h, 1000, 8), 0);
    assert_int_equal(h.n_slots, 1024);
    cr_history_dispose(&h);
    assert_int_equal(cr_history_init(&h, 65536, 1), 0);
    assert_int_equal(h.n_slots, 65536);
    cr_history_dispose(&h);
    assert_int_equal(cr_history_init(&h, 65537, 8), CR_EINVAL);
    assert_int_equal(cr_history_init(&h, 0, 8), CR_EINVAL);
    assert_int_equal(cr_history_init(&h, 8, 0), CR_EINVAL);
    assert_int_equal(cr_history_init(&h, 8, 65536), CR_EINVAL);
    /* Dispose is safe on a zeroed and on an already-disposed ring, and get/put refuse it. */
    cr_history_t z = {0};
    size_t len;
    cr_history_dispose(&z);
    cr_history_dispose(&z);
    assert_null(cr_history_get(&z, 1, 1, 0, &len));
    assert_int_equal(cr_history_put(&z, 1, (const uint8_t *)"x", 1, 1), CR_EINVAL);
}

static void test_seq_wrap(void **state)
{
    (void)state;
    cr_history_t h;
    assert_int_equal(cr_history_init(&h, 8, 4), 0);
    uint8_t pkt[4];
    size_t len;
    /* 65532 .. 65535, 0 .. 3: eight consecutive numbers across the wrap all fit. */
    for (uint32_t i = 0; i < 8; i++) {
        uint16_t s = (uint16_t)(65532 + i);
        pattern(pkt, 4, s);
        assert_int_equal(cr_history_put(&h, s, pkt, 4, 1 + i), 0);
    }
    for (uint32_t i = 0; i < 8; i++) {
        uint16_t s = (uint16_t)(65532 + i);
        const uint8_t *p = cr_history_get(&h, s, 100, 0, &len);
        assert_non_null(p);
        pattern(pkt, 4, s);
        assert_memory_equal(p, pkt, 4);
    }
    /* 4 replaces 65532 (same slot, 8 apart across the wrap). */
    assert_int_equal(cr_history_put(&h, 4, pkt, 4, 50), 0);
    assert_null(cr_history_get(&h, 65532, 100, 0, &len));
    /* ...and 4 itself is found in that slot. */
    assert_non_null(cr_history_get(&h, 4, 100, 0, &len));
    cr_history_dispose(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_init_rounding_and_limits),
        cmocka_unit_test(test_seq_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
