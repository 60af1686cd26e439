#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_log.h"

static void test_strerror_table(void **state)
{
    (void)state;
    assert_string_equal(cr_strerror(CR_ETRUNC), "input truncated");
    assert_string_equal(cr_err_name(CR_ETOOBIG), "ETOOBIG");
    assert_string_equal(cr_strerror(0), "success");
    assert_string_equal(cr_strerror(-9999), "unknown error");
    assert_true(CR_EINVAL < 0);
}

static void test_log_limit(void **state)
{
    (void)state;
    cr_log_limit_t lim = {0};
    assert_int_equal(cr_log_limit_check(&lim, 5000000), 0);
    assert_int_equal(cr_log_limit_check(&lim, 5000100), -1);
    assert_int_equal(cr_log_limit_check(&lim, 5000200), -1);
    assert_int_equal(cr_log_limit_check(&lim, 6000001), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_table),
        cmocka_unit_test(test_log_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
