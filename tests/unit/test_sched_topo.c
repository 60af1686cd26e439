/*
 * The scheduler's tree: limits, names, budgets, subscriptions and rate formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cr_err.h"
#include "cr_topo.h"

static void test_defaults_and_limits(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_topo_limits_t lim = {.max_schools = 2, .max_rooms = 3, .max_subs = 4};
    assert_int_equal(cr_topo_init(&t, &lim, NULL), 0);
    int s = cr_topo_add_school(&t, "xian-1", 0, 0, 0);
    assert_int_equal(s, 0);
    assert_int_equal(cr_topo_school(&t, 0)->link.capacity_bps, CR_TOPO_SCHOOL_BPS);
    assert_int_equal(cr_topo_school(&t, 0)->link.budget_bps, 900000000ull);
    assert_int_equal(cr_topo_add_school(&t, "xian-1", 0, 0, 0), CR_EINVAL); /* duplicate */
    assert_int_equal(cr_topo_add_school(&t, "", 0, 0, 0), CR_EINVAL);
    assert_int_equal(cr_topo_add_school(&t, "x", 0, 1.5, 0), CR_EINVAL); /* target > 1 */
    char longname[CR_SCHED_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(cr_topo_add_school(&t, longname, 0, 0, 0), CR_EINVAL);
    assert_int_equal(cr_topo_add_school(&t, "xian-2", 500000000, 0.8, 0), 1);
    assert_int_equal(cr_topo_add_school(&t, "xian-3", 0, 0, 0), CR_EFULL);

    assert_int_equal(cr_topo_add_room(&t, 0, "xian-1-1", 0, 0, 0), 0);
    assert_int_equal(cr_topo_room(&t, 0)->link.capacity_bps, CR_TOPO_ROOM_BPS);
    assert_int_equal(cr_topo_room(&t, 0)->link.budget_bps, 90000000ull);
    assert_int_equal(cr_topo_add_room(&t, 9, "nowhere", 0, 0, 0), CR_EINVAL);
    assert_int_equal(cr_topo_add_room(&t, 0, "xian-1-1", 0, 0, 0), CR_EINVAL);
    assert_int_equal(cr_topo_add_room(&t, 1, "xian-2-1", 0, 0, 0), 1);
    assert_int_equal(cr_topo_room(&t, 1)->slot, 0);
    assert_int_equal(cr_topo_add_room(&t, 0, "xian-1-2", 0, 0, 0), 2);
    assert_int_equal(cr_topo_room(&t, 2)->slot, 1);
    assert_int_equal(cr_topo_add_room(&t, 0, "xian-1-3", 0, 0, 0), CR_EFULL);
    assert_int_equal(cr_topo_find_room(&t, "xian-2-1"), 1);
    assert_int_equal(cr_topo_find_room(&t, "nope"), -1);
    assert_int_equal(cr_topo_find_school(&t, "xian-2"), 1);
    assert_int_equal(cr_topo_school(&t, 0)->n_rooms, 2);
    cr_topo_dispose(&t);
    cr_topo_dispose(&t); /* twice is harmless */
}

static void test_subs(void **state)
{
    (void)state;
    cr_topo_t t;
    cr_topo_limits_t lim = {.max_schools = 1, .max_rooms = 2, .max_subs = 40};
    assert_int_equal(cr_topo_init(&t, &lim, NULL), 0);
    cr_topo_add_school(&t, "s", 0, 0, 0);
    cr_topo_add_room(&t, 0, "r", 0, 0, 0);
    int a = cr_topo_sub_add(&t, 0, CR_SMEDIA_AUDIO, CR_SROLE_TEACHER, 77);
    assert_true(a >= 0);
    assert_int_equal(cr_topo_sub(&t, (uint32_t)a)->user, 77);
    assert_int_equal(cr_topo_sub(&t, (uint32_t)a)->layer, CR_SCHED_LAYER_OFF);
    uint32_t two[2] = {1, 2};
    assert_int_equal(cr_topo_sub_set_layers(&t, (uint32_t)a, two, 2), CR_EINVAL); /* audio has one */
    assert_int_equal(cr_topo_sub_add(&t, 5, CR_SMEDIA_VIDEO, CR_SROLE_BOARD, 0), CR_EINVAL);
    assert_int_equal(cr_topo_sub_add(&t, 0, (enum cr_sched_media)7, CR_SROLE_BOARD, 0), CR_EINVAL);
    int n = 1;
    while (cr_topo_sub_add(&t, 0, CR_SMEDIA_VIDEO, CR_SROLE_OTHER, 0) >= 0)
        n++;
    assert_int_equal(n, CR_SCHED_SUBS_PER_ROOM); /* the per-classroom cap */
    assert_int_equal(cr_topo_sub_add(&t, 0, CR_SMEDIA_VIDEO, CR_SROLE_OTHER, 0), CR_EFULL);
    cr_topo_sub_remove(&t, (uint32_t)a);
    cr_topo_sub_remove(&t, (uint32_t)a); /* removing twice is harmless */
    assert_int_equal(cr_topo_room(&t, 0)->n_subs, CR_SCHED_SUBS_PER_ROOM - 1);
    int b = cr_topo_sub_add(&t, 0, CR_SMEDIA_VIDEO, CR_SROLE_STAGE, 0);
    assert_int_equal(b, a); /* the index is reused */
    uint32_t layers[5] = {1, 2, 3, 4, 5};
    assert_int_equal(cr_topo_sub_set_layers(&t, (uint32_t)b, layers, 5), CR_EINVAL);
    assert_int_equal(cr_topo_sub_set_layers(&t, (uint32_t)b, layers, 3), 0);
    assert_true(cr_topo_sub(&t, (uint32_t)b)->layer_util[2] > cr_topo_sub(&t, (uint32_t)b)->layer_util[0]);
    cr_topo_dispose(&t);
}

static void test_budget(void **state)
{
    (void)state;
    cr_link_t l = {.capacity_bps = 100000000, .target = 0.9};
    assert_int_equal(cr_link_budget(&l), 90000000);
    l.estimate_bps = 40000000;
    assert_int_equal(cr_link_budget(&l), 40000000);
    l.estimate_bps = 95000000;
    assert_int_equal(cr_link_budget(&l), 90000000);

    cr_topo_t t;
    assert_int_equal(cr_topo_init(&t, NULL, NULL), 0);
    cr_topo_add_school(&t, "s", 0, 0, 0);
    cr_topo_add_room(&t, 0, "r", 20000000, 0, 0);
    cr_topo_refresh(&t, 0);
    /* before feedback a classroom estimates the start rate (5 Mbps), capped by its capacity */
    assert_int_equal(cr_topo_room(&t, 0)->link.estimate_bps, 5000000);
    assert_int_equal(cr_topo_room(&t, 0)->link.budget_bps, 5000000);
    assert_int_equal(cr_topo_set_link(&t, 0, 0, 3000000, 0.5), 0);
    cr_topo_refresh(&t, 0);
    assert_int_equal(cr_topo_room(&t, 0)->link.budget_bps, 1500000);
    assert_int_equal(cr_topo_set_link(&t, 1, 0, 200000000, 0.9), 0);
    assert_int_equal(cr_topo_school(&t, 0)->link.budget_bps, 180000000);
    assert_int_equal(cr_topo_set_link(&t, 1, 3, 1, 0.9), CR_EINVAL);
    cr_topo_dispose(&t);
}

static void test_names(void **state)
{
    (void)state;
    char b[24];
    assert_string_equal(cr_sched_fmt_rate(b, sizeof(b), 930000000), "930 Mbps");
    assert_string_equal(cr_sched_fmt_rate(b, sizeof(b), 2500000), "2.5 Mbps");
    assert_string_equal(cr_sched_fmt_rate(b, sizeof(b), 3000000), "3 Mbps");
    assert_string_equal(cr_sched_fmt_rate(b, sizeof(b), 640000), "640 kbps");
    assert_string_equal(cr_sched_fmt_rate(b, sizeof(b), 12), "12 bps");
    assert_string_equal(cr_sched_fmt_rate(b, 4, 930000000), "930");
    assert_string_equal(cr_sched_kind_name(CR_SKIND_DEDICATED), "dedicated");
    assert_string_equal(cr_sched_kind_name(9), "?");
    assert_string_equal(cr_sched_role_name(CR_SROLE_BOARD), "board");
    assert_string_equal(cr_sched_role_name(-1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_limits),
        cmocka_unit_test(test_subs),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
