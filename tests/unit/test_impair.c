/*
 * The impairment proxy's model (tests/tools/cr_impair_model.c, compiled in here): determinism by
 * seed, Bernoulli and Gilbert-Elliott loss statistics, delay and jitter bounds with order kept,
 * reordering, the token bucket's rate, burst and queue limit, and option parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "../tools/cr_impair_model.c"

#define N 100000

static void test_deterministic(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.loss = 0.1;
    c.jitter_us = 5000;
    c.delay_us = 20000;
    c.reorder = 0.02;
    cr_imp_dir_t a, b, other, down;
    cr_imp_dir_init(&a, &c, 42, 0);
    cr_imp_dir_init(&b, &c, 42, 0);
    cr_imp_dir_init(&other, &c, 43, 0);
    cr_imp_dir_init(&down, &c, 42, 1);
    int same = 1, differs = 0, dir_differs = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t ra = 0, rb = 0, ro = 0, rd = 0;
        int va = cr_imp_decide(&a, i * 1000, 1200, &ra), vb = cr_imp_decide(&b, i * 1000, 1200, &rb);
        int vo = cr_imp_decide(&other, i * 1000, 1200, &ro), vd = cr_imp_decide(&down, i * 1000, 1200, &rd);
        same &= va == vb && ra == rb;
        differs |= va != vo || ra != ro;
        dir_differs |= va != vd || ra != rd;
    }
    assert_true(same);
    assert_true(differs);
    assert_true(dir_differs); /* each direction has its own stream */
}

static void test_bernoulli(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.loss = 0.10;
    cr_imp_dir_t d;
    cr_imp_dir_init(&d, &c, 7, 0);
    uint64_t r;
    for (uint64_t i = 0; i < N; i++)
        cr_imp_decide(&d, i * 100, 1000, &r);
    double loss = (double)d.n.drop_loss / N;
    printf("impair=bernoulli target=0.100 measured=%.4f\n", loss);
    assert_true(loss > 0.095 && loss < 0.105);
    assert_int_equal(d.n.passed + d.n.drop_loss, N);
}

static void test_gilbert_elliott(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.ge_p = 0.01;
    c.ge_r = 0.25;
    cr_imp_dir_t d;
    cr_imp_dir_init(&d, &c, 9, 0);
    uint64_t r, bursts = 0, run = 0, lost = 0;
    for (uint64_t i = 0; i < 10 * N; i++) {
        if (cr_imp_decide(&d, i * 100, 1000, &r) == CR_IMP_DROP_LOSS) {
            lost++;
            run++;
        } else if (run > 0) {
            bursts++;
            run = 0;
        }
    }
    double loss = (double)lost / (10 * N), mean_burst = (double)lost / (double)bursts;
    /* stationary loss p / (p + r) = 3.85 %, mean burst 1 / r = 4 packets */
    printf("impair=gilbert_elliott loss=%.4f (0.0385) mean_burst=%.2f (4.00)\n", loss, mean_burst);
    assert_true(loss > 0.034 && loss < 0.043);
    assert_true(mean_burst > 3.6 && mean_burst < 4.4);
}

static void test_delay_jitter_order(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.delay_us = 20000;
    c.jitter_us = 5000;
    cr_imp_dir_t d;
    cr_imp_dir_init(&d, &c, 3, 0);
    uint64_t prev = 0, lo = UINT64_MAX, hi = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t now = i * 20000, r; /* 50 packets/s: jitter does not run into the order rule */
        assert_int_equal(cr_imp_decide(&d, now, 200, &r), CR_IMP_PASS);
        assert_true(r >= prev); /* order kept */
        prev = r;
        if (r - now < lo)
            lo = r - now;
        if (r - now > hi)
            hi = r - now;
    }
    assert_true(lo >= 15000 && lo < 15200);
    assert_true(hi <= 25000 && hi > 24800);
    /* back to back packets with jitter still arrive in order */
    cr_imp_dir_init(&d, &c, 3, 0);
    prev = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t r;
        cr_imp_decide(&d, i * 100, 200, &r);
        assert_true(r >= prev);
        prev = r;
    }
}

static void test_reorder(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.delay_us = 10000;
    c.reorder = 0.05;
    c.reorder_gap_us = 10000;
    cr_imp_dir_t d;
    cr_imp_dir_init(&d, &c, 5, 0);
    uint64_t rel[1000], out_of_order = 0;
    for (uint64_t i = 0; i < 1000; i++)
        cr_imp_decide(&d, i * 1000, 200, &rel[i]);
    for (int i = 0; i + 1 < 1000; i++)
        out_of_order += rel[i] > rel[i + 1];
    printf("impair=reorder target=0.05 measured=%.3f\n", out_of_order / 1000.0);
    assert_true(d.n.reordered > 30 && d.n.reordered < 70);
    assert_true(out_of_order > 30 && out_of_order < 70);
}

static void test_rate_limit(void **state)
{
    (void)state;
    cr_imp_conf_t c;
    cr_imp_conf_default(&c);
    c.rate_bps = 1000000;
    c.burst_bytes = 5000;
    c.queue_bytes = 10000;
    cr_imp_dir_t d;
    cr_imp_dir_init(&d, &c, 1, 0);
    /* a burst of 5 packets of 1000 bytes passes at once (the bucket's depth) */
    uint64_t r[8];
    for (int i = 0; i < 5; i++)
        cr_imp_decide(&d, 0, 1000, &r[i]);
    assert_int_equal(r[4], 0);
    cr_imp_decide(&d, 0, 1000, &r[5]);
    assert_int_equal(r[5], 8000); /* the sixth waits for 1000 bytes of tokens at 1 Mbit/s */
    /* 2 Mbit/s offered for 2 s: 1 Mbit/s delivered, the rest dropped at the queue, whose delay is
     * bounded by its size (10 KB at 1 Mbit/s = 80 ms) */
    cr_imp_dir_init(&d, &c, 1, 0);
    uint64_t max_delay = 0, last = 0;
    for (uint64_t t = 0; t < 2000000; t += 4000) {
        uint64_t rel;
        if (cr_imp_decide(&d, t, 1000, &rel) == CR_IMP_PASS) {
            if (rel - t > max_delay)
                max_delay = rel - t;
            last = rel;
        }
    }
    double rate = (double)d.n.passed_bytes * 8 / ((double)last / 1e6);
    printf("impair=rate target_bps=1000000 measured_bps=%.0f drop_queue=%llu max_delay_ms=%.1f\n", rate,
           (unsigned long long)d.n.drop_queue, max_delay / 1000.0);
    assert_true(rate > 0.97e6 && rate < 1.05e6);
    assert_true(d.n.drop_queue > 200);
    assert_true(max_delay <= 91000);
}

static void test_options(void **state)
{
    (void)state;
    cr_imp_conf_t up, down;
    cr_imp_conf_default(&up);
    cr_imp_conf_default(&down);
    assert_int_equal(cr_imp_parse_option(&up, &down, "delay", "25.5"), 0);
    assert_int_equal(up.delay_us, 25500);
    assert_int_equal(down.delay_us, 25500);
    assert_int_equal(cr_imp_parse_option(&up, &down, "down-loss", "2"), 0);
    assert_true(down.loss == 0.02 && up.loss == 0);
    assert_int_equal(cr_imp_parse_option(&up, &down, "up-ge", "1,25"), 0);
    assert_true(up.ge_p == 0.01 && up.ge_r == 0.25 && up.ge_loss_bad == 1.0 && down.ge_p == 0);
    assert_int_equal(cr_imp_parse_option(&up, &down, "ge", "1,25,80,0.5"), 0);
    assert_true(down.ge_loss_bad == 0.8 && down.ge_loss_good == 0.005);
    assert_int_equal(cr_imp_parse_option(&up, &down, "reorder", "5,20"), 0);
    assert_true(up.reorder == 0.05 && up.reorder_gap_us == 20000);
    assert_int_equal(cr_imp_parse_option(&up, &down, "rate", "2000"), 0);
    assert_int_equal(up.rate_bps, 2000000);
    assert_int_equal(cr_imp_parse_option(&up, &down, "queue", "30000"), 0);
    assert_int_equal(down.queue_bytes, 30000);
    assert_int_equal(cr_imp_parse_option(&up, &down, "colour", "red"), -1);
    assert_int_equal(cr_imp_parse_option(&up, &down, "loss", "101"), -2);
    assert_int_equal(cr_imp_parse_option(&up, &down, "loss", "5x"), -2);
    assert_int_equal(cr_imp_parse_option(&up, &down, "ge", "1"), -2);
    assert_int_equal(cr_imp_parse_option(&up, &down, "delay", "-1"), -2);
    assert_int_equal(cr_imp_parse_option(&up, &down, "burst", "10"), -2);
    assert_int_equal(cr_imp_parse_option(&up, &down, "delay", NULL), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),   cmocka_unit_test(test_bernoulli),
        cmocka_unit_test(test_gilbert_elliott), cmocka_unit_test(test_delay_jitter_order),
        cmocka_unit_test(test_reorder),         cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
