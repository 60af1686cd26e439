#include "retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void schedule(void **state)
{
    assert_int_equal(cr_retry_backoff_ms(0), 0);
    assert_int_equal(cr_retry_backoff_ms(1), 1000);
    assert_int_equal(cr_retry_backoff_ms(2), 2000);
    assert_int_equal(cr_retry_backoff_ms(3), 4000);
    assert_int_equal(cr_retry_backoff_ms(4), 8000);
    assert_int_equal(cr_retry_backoff_ms(5), 10000);
    assert_int_equal(cr_retry_backoff_ms(6), 10000);
    assert_int_equal(cr_retry_backoff_ms(40), 10000);
    assert_int_equal(cr_retry_backoff_ms(~0u), CR_RETRY_MAX_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(schedule)};
    return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
