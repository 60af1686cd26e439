#include "url.h"

#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void check(const char *base, const char *loc, const char *want)
{
    char *got = cr_url_resolve(base, loc);
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
    g_free(got);
}

static void resolve(void **state)
{
    const char *b = "http://10.99.0.1:8080/whip/demo";
    check(b, "/whip/demo/r/abc123", "http://10.99.0.1:8080/whip/demo/r/abc123");
    check(b, "demo/abc", "http://10.99.0.1:8080/whip/demo/abc");
    check(b, "abc", "http://10.99.0.1:8080/whip/abc");
    check(b, "../resource/1", "http://10.99.0.1:8080/resource/1");
    check(b, "http://10.99.0.9:9000/res/1", "http://10.99.0.9:9000/res/1");
    check(b, "//other:81/res", "http://other:81/res");
    check(b, "?id=5", "http://10.99.0.1:8080/whip/demo?id=5");
    check("https://[::1]:8443/whep/x", "/whep/x/s1", "https://[::1]:8443/whep/x/s1");
    check(b, "", NULL);
    check(b, NULL, NULL);
    check("not a url", "/x", NULL);
}

static void auto_local_ip(void **state)
{
    assert_string_equal(cr_url_auto_local_ip("http://127.0.0.1:8080/whip/a"), "127.0.0.1");
    assert_string_equal(cr_url_auto_local_ip("http://127.1.2.3/whip/a"), "127.0.0.1");
    assert_string_equal(cr_url_auto_local_ip("http://localhost:8080/whip/a"), "127.0.0.1");
    assert_string_equal(cr_url_auto_local_ip("http://[::1]:8080/whip/a"), "::1");
    assert_null(cr_url_auto_local_ip("http://10.99.0.1:8080/whip/a"));
    assert_null(cr_url_auto_local_ip("http://127example.org/whip/a"));
    assert_null(cr_url_auto_local_ip("garbage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolve),
        cmocka_unit_test(auto_local_ip),
    };
    return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
