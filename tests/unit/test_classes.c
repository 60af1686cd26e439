/*
 * The class model: the state machine (scheduled -> live -> ended, timetable end), invitations, and
 * each kind's rules for each role, including the conditional ones (master class: publish only on
 * stage, be put on stage only with a raised hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cr_class.h"
#include "cr_err.h"

static cr_class_desc_t make(enum cr_class_kind kind)
{
    cr_class_desc_t d;
    assert_int_equal(cr_class_desc_init(&d, "math-7", kind, CR_ORIGIN_ADMIN), 0);
    return d;
}

static void test_init(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_MASTER);
    assert_string_equal(d.id, "math-7");
    assert_string_equal(d.title, "math-7");
    assert_int_equal(d.state, CR_CLASS_SCHEDULED);
    assert_int_equal(d.kind, CR_KIND_MASTER);
    assert_int_equal(cr_class_desc_init(&d, "bad id", CR_KIND_MASTER, CR_ORIGIN_ADHOC), CR_EINVAL);
    assert_int_equal(cr_class_desc_init(&d, "", CR_KIND_MASTER, CR_ORIGIN_ADHOC), CR_EINVAL);
    assert_int_equal(cr_class_desc_init(&d, "ok", (enum cr_class_kind)4, CR_ORIGIN_ADHOC), CR_EINVAL);
}

static void test_state_machine(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_SYNCHRONOUS);
    assert_int_equal(cr_class_start(&d), 0);
    assert_int_equal(d.state, CR_CLASS_LIVE);
    assert_int_equal(cr_class_start(&d), CR_ESTATE); /* already live */
    assert_int_equal(cr_class_end(&d), 0);
    assert_int_equal(d.state, CR_CLASS_ENDED);
    assert_int_equal(cr_class_end(&d), CR_ESTATE);   /* ended is final */
    assert_int_equal(cr_class_start(&d), CR_ESTATE);
    assert_int_equal(d.state, CR_CLASS_ENDED);

    /* A scheduled class may be cancelled. */
    d = make(CR_KIND_NETWORK);
    assert_int_equal(cr_class_end(&d), 0);
    assert_int_equal(d.state, CR_CLASS_ENDED);
    assert_int_equal(cr_class_start(&d), CR_ESTATE);
}

static void test_timetable_end(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_DEDICATED);
    assert_int_equal(cr_class_tick(&d, 1000), 0); /* no end time: never ends by itself */
    d.end = 2000;
    assert_int_equal(cr_class_tick(&d, 1999), 0);
    assert_int_equal(d.state, CR_CLASS_SCHEDULED);
    assert_int_equal(cr_class_start(&d), 0);
    assert_int_equal(cr_class_tick(&d, 2000), 1);
    assert_int_equal(d.state, CR_CLASS_ENDED);
    assert_int_equal(cr_class_tick(&d, 3000), 0); /* only once */
}

static void test_invitations(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_DEDICATED);
    assert_true(cr_class_is_invited(&d, "anyone")); /* no list: open to every classroom with a token */
    static const char list[] = " rural-1,rural-2 ,\trural_3";
    assert_int_equal(cr_class_invite_list(&d, list, strlen(list)), 0);
    assert_int_equal(d.n_invited, 3);
    assert_true(cr_class_is_invited(&d, "rural-2"));
    assert_true(cr_class_is_invited(&d, "rural_3"));
    assert_false(cr_class_is_invited(&d, "rural-4"));
    assert_false(cr_class_is_invited(&d, "rural"));
    assert_int_equal(cr_class_invite(&d, "rural-1"), CR_ESTATE);
    assert_int_equal(cr_class_invite(&d, "bad id"), CR_EINVAL);
    cr_class_desc_t e = make(CR_KIND_DEDICATED);
    assert_int_equal(cr_class_invite_list(&e, "a,,b", 4), CR_EINVAL);
    e = make(CR_KIND_DEDICATED);
    assert_int_equal(cr_class_invite_list(&e, "a,b,", 4), CR_EINVAL);
    e = make(CR_KIND_DEDICATED);
    char id[16];
    for (unsigned i = 0; i < CR_CLASS_MAX_INVITED; i++) {
        id[0] = 'r';
        id[1] = (char)('a' + i / 26);
        id[2] = (char)('a' + i % 26);
        id[3] = '\0';
        assert_int_equal(cr_class_invite(&e, id), 0);
    }
    assert_int_equal(cr_class_invite(&e, "one-more"), CR_EFULL);
}

/* Expected rules, written out independently of the table in cr_class.c:
 * T teacher, C classroom, O operator, A admin. */
typedef struct expect_row {
    enum cr_action action;
    const char *allowed[CR_KIND_COUNT]; /* per kind: letters of the roles allowed outright */
} expect_row_t;

static const expect_row_t expected[] = {
    /*                        synchronous dedicated master network */
    {CR_ACT_PUBLISH, {"TC", "TC", "T", "T"}},
    {CR_ACT_SUBSCRIBE, {"TCOA", "TCOA", "TCOA", "TCOA"}},
    {CR_ACT_VIEW_ANY, {"TOA", "TOA", "TOA", "TOA"}},
    {CR_ACT_STAGE, {"TA", "TA", "TA", ""}},
    {CR_ACT_BE_ON_STAGE, {"C", "C", "", ""}},
    {CR_ACT_RAISE_HAND, {"C", "C", "C", ""}},
    {CR_ACT_ACCEPT_HAND, {"TA", "TA", "TA", ""}},
    {CR_ACT_MUTE, {"TA", "TA", "TA", ""}},
    {CR_ACT_START_END, {"TA", "TA", "TA", "TA"}},
};

static void test_rules_each_kind(void **state)
{
    (void)state;
    static const char letters[CR_ROLE_COUNT] = {'T', 'C', 'O', 'A'};
    unsigned checked = 0;
    for (size_t r = 0; r < sizeof(expected) / sizeof(expected[0]); r++) {
        for (int k = 0; k < CR_KIND_COUNT; k++) {
            for (int role = 0; role < CR_ROLE_COUNT; role++) {
                enum cr_rule got = cr_class_rule((enum cr_class_kind)k, (enum cr_role)role, expected[r].action);
                int want = strchr(expected[r].allowed[k], letters[role]) != NULL;
                /* The conditional rules are checked separately below. */
                int conditional = (k == CR_KIND_MASTER && role == CR_ROLE_CLASSROOM &&
                                   (expected[r].action == CR_ACT_PUBLISH || expected[r].action == CR_ACT_BE_ON_STAGE));
                if (conditional)
                    continue;
                if ((got == CR_RULE_ALLOW) != want)
                    fail_msg("%s: %s as %c: got rule %d", cr_class_kind_name((enum cr_class_kind)k),
                             cr_action_name(expected[r].action), letters[role], got);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 9 * 4 * 4 - 2);
    /* Out-of-range inputs are refused, never read past the table. */
    assert_int_equal(cr_class_rule((enum cr_class_kind)9, CR_ROLE_ADMIN, CR_ACT_MUTE), CR_RULE_DENY);
    assert_int_equal(cr_class_rule(CR_KIND_MASTER, (enum cr_role)9, CR_ACT_MUTE), CR_RULE_DENY);
    assert_int_equal(cr_class_rule(CR_KIND_MASTER, CR_ROLE_ADMIN, (enum cr_action)99), CR_RULE_DENY);
}

static void test_synchronous(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_SYNCHRONOUS);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_PUBLISH, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_BE_ON_STAGE, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_STAGE, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_MUTE, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_STAGE, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_MUTE, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_VIEW_ANY, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_OPERATOR, CR_ACT_PUBLISH, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_ADMIN, CR_ACT_PUBLISH, 0, 0), CR_CLASS_DENY_ROLE);
}

static void test_dedicated(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_DEDICATED);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_PUBLISH, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_VIEW_ANY, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_OPERATOR, CR_ACT_STAGE, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_OPERATOR, CR_ACT_VIEW_ANY, 0, 0), CR_CLASS_OK);
}

static void test_master(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_MASTER);
    /* A classroom publishes only while on stage (after its hand was accepted). */
    assert_int_equal(cr_class_rule(CR_KIND_MASTER, CR_ROLE_CLASSROOM, CR_ACT_PUBLISH), CR_RULE_IF_ON_STAGE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_PUBLISH, 0, 1), CR_CLASS_DENY_NOT_STAGE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_PUBLISH, 1, 0), CR_CLASS_OK);
    /* ... and is put on stage only with a raised hand. */
    assert_int_equal(cr_class_rule(CR_KIND_MASTER, CR_ROLE_CLASSROOM, CR_ACT_BE_ON_STAGE), CR_RULE_IF_HAND);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_BE_ON_STAGE, 0, 0), CR_CLASS_DENY_NO_HAND);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_BE_ON_STAGE, 0, 1), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_RAISE_HAND, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_ACCEPT_HAND, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_CLASSROOM, CR_ACT_ACCEPT_HAND, 0, 1), CR_CLASS_DENY_ROLE);
    /* The teacher is never "on stage": it is the main source. */
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_BE_ON_STAGE, 0, 1), CR_CLASS_DENY_ROLE);
}

static void test_network(void **state)
{
    (void)state;
    cr_class_desc_t d = make(CR_KIND_NETWORK);
    for (int a = 0; a < CR_ACT_COUNT; a++) {
        enum cr_class_deny got = cr_class_allowed(&d, CR_ROLE_CLASSROOM, (enum cr_action)a, 1, 1);
        if (a == CR_ACT_SUBSCRIBE)
            assert_int_equal(got, CR_CLASS_OK);
        else
            assert_int_equal(got, CR_CLASS_DENY_ROLE); /* on stage or not, hand or not */
    }
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_PUBLISH, 0, 0), CR_CLASS_OK);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_STAGE, 0, 0), CR_CLASS_DENY_ROLE);
    assert_int_equal(cr_class_allowed(&d, CR_ROLE_TEACHER, CR_ACT_START_END, 0, 0), CR_CLASS_OK);
}

static void test_names(void **state)
{
    (void)state;
    enum cr_class_kind k;
    static const char *const names[] = {"synchronous", "dedicated", "master", "network"};
    for (int i = 0; i < CR_KIND_COUNT; i++) {
        assert_int_equal(cr_class_kind_parse(names[i], strlen(names[i]), &k), 0);
        assert_int_equal(k, i);
        assert_string_equal(cr_class_kind_name(k), names[i]);
    }
    assert_int_equal(cr_class_kind_parse("lecture", 7, &k), -1);
    assert_int_equal(cr_class_kind_parse("master ", 7, &k), -1);
    assert_string_equal(cr_class_state_name(CR_CLASS_LIVE), "live");
    assert_string_equal(cr_class_state_name(CR_CLASS_ENDED), "ended");
    assert_string_equal(cr_class_origin_name(CR_ORIGIN_ADHOC), "adhoc");
    assert_string_equal(cr_action_name(CR_ACT_ACCEPT_HAND), "accept_hand");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),       cmocka_unit_test(test_state_machine),   cmocka_unit_test(test_timetable_end),
        cmocka_unit_test(test_invitations), cmocka_unit_test(test_rules_each_kind), cmocka_unit_test(test_synchronous),
        cmocka_unit_test(test_dedicated),  cmocka_unit_test(test_master),          cmocka_unit_test(test_network),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
