/*
 * Admission (issue 5, goal 6): an over-booked timetable is degraded or refused at load with the
 * link named; priorities by kind; periods that do not overlap do not compete; an ad-hoc class and
 * a single join are checked the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "cr_admit.h"
#include "cr_err.h"

#define MIN 60000000ull /* a minute in microseconds */

static cr_topo_t T;
static cr_admit_t A;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(cr_topo_init(&T, NULL, NULL), 0);
    cr_topo_add_school(&T, "xian-1", 0, 0, 0); /* 1000 Mbps x 0.9 */
    char name[16];
    for (int i = 1; i <= 30; i++) {
        snprintf(name, sizeof(name), "xian-1-%d", i);
        cr_topo_add_room(&T, 0, name, 0, 0, 0); /* 100 Mbps x 0.9 */
    }
    cr_topo_add_school(&T, "baoji-2", 0, 0, 0);
    cr_topo_add_room(&T, 1, "baoji-2-1", 0, 0, 0);
    assert_int_equal(cr_admit_init(&A, &T), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_admit_dispose(&A);
    cr_topo_dispose(&T);
    return 0;
}

static cr_admit_class_t cls(const char *id, enum cr_sched_kind kind, uint64_t start_min, uint64_t end_min,
                            uint32_t first_room, uint32_t n_rooms, uint64_t floor0, uint64_t floor1)
{
    cr_admit_class_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "%s", id);
    c.kind = (uint8_t)kind;
    c.start_us = start_min * MIN;
    c.end_us = end_min * MIN;
    c.n_rooms = (uint16_t)n_rooms;
    for (uint32_t i = 0; i < n_rooms; i++)
        c.rooms[i] = first_room + i;
    c.n_streams = 2;
    c.floor_bps[0] = floor0;
    c.floor_bps[1] = floor1;
    c.audio_bps = 64000;
    return c;
}

static void test_overbooked_timetable(void **state)
{
    (void)state;
    cr_admit_class_t tt[5];
    /* 8:00-8:45: a network class to 25 classrooms is listed before a dedicated class to 5 others;
     * each classroom's floors are 30 Mbps + 64 kbps audio: 30 x 30.064 = 902 Mbps > 900 */
    tt[0] = cls("net-math", CR_SKIND_NETWORK, 480, 525, 5, 25, 25000000, 5000000);
    tt[1] = cls("ded-music", CR_SKIND_DEDICATED, 480, 525, 0, 5, 20000000, 10000000);
    /* 8:30-9:00, overlapping: a synchronous class into classroom 1 with a 60 Mbps floor */
    tt[2] = cls("sync-art", CR_SKIND_SYNCHRONOUS, 510, 540, 0, 1, 60000000, 0);
    /* 9:00-9:45: the whole school again, 29 Mbps each: fits, the periods do not overlap */
    tt[3] = cls("net-english", CR_SKIND_NETWORK, 540, 585, 0, 30, 24000000, 5000000);
    /* another school is not affected */
    tt[4] = cls("baoji", CR_SKIND_MASTER, 480, 525, 30, 1, 80000000, 0);
    int refused = cr_admit_timetable(&A, tt, 5, NULL);
    for (int i = 0; i < 5; i++)
        printf("goal=admission class=%s status=%s reason=\"%s\"\n", tt[i].id, cr_admit_status_name(tt[i].status),
               tt[i].reason);
    assert_int_equal(refused, 1);
    /* the dedicated class went first (priority), whole */
    assert_int_equal(tt[1].status, CR_ADMIT_ADMITTED);
    /* the network class: 24 classrooms full, the last with the teacher camera's floor only */
    assert_int_equal(tt[0].status, CR_ADMIT_DEGRADED);
    assert_int_equal(tt[0].room_status[23], CR_ADMIT_ROOM_FULL);
    assert_int_equal(tt[0].room_status[24], CR_ADMIT_ROOM_ESSENTIAL);
    assert_string_equal(tt[0].reason, "degraded: school 'xian-1' link: floors 902 Mbps > 900 Mbps budget (24 of 25 "
                                      "classrooms full, 1 teacher camera only, 0 refused)");
    /* classroom 1 already carries the dedicated class's 30 Mbps: 90.1 Mbps > 90 */
    assert_int_equal(tt[2].status, CR_ADMIT_REFUSED);
    assert_string_equal(tt[2].reason, "refused: classroom 'xian-1-1' link: floors 90.1 Mbps > 90 Mbps budget");
    assert_int_equal(tt[3].status, CR_ADMIT_ADMITTED);
    assert_int_equal(tt[4].status, CR_ADMIT_ADMITTED);
    assert_string_equal(tt[4].reason, "");

    /* an ad-hoc class at 8:10 into the full school: refused, the school link named */
    cr_admit_class_t adhoc = cls("adhoc", CR_SKIND_MASTER, 490, 500, 10, 2, 5000000, 0);
    assert_int_equal(cr_admit_class(&A, tt, 5, &adhoc, NULL), CR_ADMIT_REFUSED);
    assert_string_equal(adhoc.reason, "refused: school 'xian-1' link: floors 902 Mbps > 900 Mbps budget");
    /* the same at 10:00: nothing else then */
    adhoc.start_us = 600 * MIN;
    adhoc.end_us = 640 * MIN;
    assert_int_equal(cr_admit_class(&A, tt, 5, &adhoc, NULL), CR_ADMIT_ADMITTED);

    /* joins: into the 9:00 class from another school's classroom, and into the full 8:00 class */
    char why[CR_ADMIT_REASON_MAX];
    assert_int_equal(cr_admit_join(&A, tt, 5, 3, 30, 545 * MIN, NULL, why, sizeof(why)), CR_ADMIT_ADMITTED);
    assert_int_equal(tt[3].n_rooms, 31);
    assert_int_equal(cr_admit_join(&A, tt, 5, 3, 30, 545 * MIN, NULL, why, sizeof(why)), CR_ADMIT_ADMITTED);
    assert_int_equal(tt[3].n_rooms, 31); /* already in */
    tt[0].n_rooms = 24; /* the degraded classroom leaves; another joins: it gets the same answer */
    assert_int_equal(cr_admit_join(&A, tt, 5, 0, 29, 490 * MIN, NULL, why, sizeof(why)), CR_ADMIT_DEGRADED);
    /* a classroom of the dedicated class also joins the network class: the school is full */
    assert_int_equal(cr_admit_join(&A, tt, 5, 0, 0, 490 * MIN, NULL, why, sizeof(why)), CR_ADMIT_REFUSED);
    assert_string_equal(why, "refused: school 'xian-1' link: floors 927 Mbps > 900 Mbps budget");
    assert_int_equal(tt[0].n_rooms, 25);
}

static void test_margin_and_estimate(void **state)
{
    (void)state;
    cr_admit_class_t c = cls("c", CR_SKIND_DEDICATED, 0, 10, 30, 1, 60000000, 20000000);
    cr_admit_params_t p;
    cr_admit_params_default(&p);
    assert_int_equal(cr_admit_class(&A, NULL, 0, &c, &p), CR_ADMIT_ADMITTED);
    p.margin = 0.2; /* keep 20 % free: 72 Mbps */
    assert_int_equal(cr_admit_class(&A, NULL, 0, &c, &p), CR_ADMIT_DEGRADED);
    assert_string_equal(c.reason, "degraded: classroom 'baoji-2-1' link: floors 80.1 Mbps > 72 Mbps budget (0 of 1 "
                                  "classrooms full, 1 teacher camera only, 0 refused)");
    /* live budgets: the classroom's estimate is down to 5 Mbps */
    p.margin = 0;
    p.use_estimate = 1;
    cr_topo_room(&T, 30)->link.estimate_bps = 5000000;
    assert_int_equal(cr_admit_class(&A, NULL, 0, &c, &p), CR_ADMIT_REFUSED);
    cr_topo_room(&T, 30)->link.estimate_bps = 0;
}

static void test_invalid(void **state)
{
    (void)state;
    cr_admit_class_t c = cls("c", CR_SKIND_DEDICATED, 10, 10, 0, 1, 1, 0);
    assert_int_equal(cr_admit_class(&A, NULL, 0, &c, NULL), CR_EINVAL); /* empty period */
    c = cls("c", CR_SKIND_DEDICATED, 0, 10, 999, 1, 1, 0);
    assert_int_equal(cr_admit_timetable(&A, &c, 1, NULL), CR_EINVAL); /* no such classroom */
    assert_int_equal(cr_admit_timetable(&A, &c, CR_ADMIT_MAX_CLASSES + 1, NULL), CR_ETOOBIG);
    char why[8];
    assert_int_equal(cr_admit_join(&A, &c, 1, 1, 0, 0, NULL, why, sizeof(why)), CR_EINVAL);
    assert_string_equal(cr_admit_status_name(CR_ADMIT_DEGRADED), "degraded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overbooked_timetable),
        cmocka_unit_test(test_margin_and_estimate),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
