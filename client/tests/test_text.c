#include "text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void check(unsigned status, const char *reason, const char *body, const char *want)
{
    char out[512];
    size_t n = cr_text_refusal(out, sizeof(out), status, reason, body, body ? strlen(body) : 0);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void plain(void **state)
{
    check(404, "Not Found", "class 'x' is not live",
          "relay refused (404 Not Found): class 'x' is not live");
    check(404, "Not Found", "class 'x' is not live\r\n",
          "relay refused (404 Not Found): class 'x' is not live");
    check(403, NULL, "bad token", "relay refused (403 Forbidden): bad token");
    check(503, "", NULL, "relay refused (503 Service Unavailable)");
    check(599, NULL, "", "relay refused (599)");
    check(400, "Bad Request", "line one\n\n  line\ttwo  ",
          "relay refused (400 Bad Request): line one line two");
}

static void json(void **state)
{
    check(409, "Conflict", "{\"code\": 409, \"error\": \"class 'demo' already has a teacher\"}",
          "relay refused (409 Conflict): class 'demo' already has a teacher");
    check(404, "Not Found", "{\"message\":\"no \\\"such\\\" class\\n\"}",
          "relay refused (404 Not Found): no \"such\" class");
    check(429, "Too Many Requests", " {\"reason\" : \"floor not available\"}",
          "relay refused (429 Too Many Requests): floor not available");
    check(404, "Not Found",
          "{\"error\":{\"code\":4042,\"message\":\"class is not live: class 'demo' has no "
          "publisher\"}}\n",
          "relay refused (404 Not Found): class is not live: class 'demo' has no publisher "
          "(code 4042)");
    /* no known field: the body itself */
    check(500, NULL, "{\"x\":1}", "relay refused (500 Internal Server Error): {\"x\":1}");
}

static void caps_and_truncation(void **state)
{
    char body[1000];
    char out[512];
    memset(body, 'a', sizeof(body));
    size_t n = cr_text_refusal(out, sizeof(out), 400, "Bad Request", body, sizeof(body));
    assert_int_equal(n, strlen(out));
    assert_true(strlen(out) < 40 + CR_TEXT_BODY_MAX);
    assert_string_equal(out + strlen(out) - 3, "...");

    /* binary junk stays on one printable line */
    const char junk[] = {'o', 'k', 0, 1, 2, '\n', 'x'};
    n = cr_text_refusal(out, sizeof(out), 400, "Bad Request", junk, sizeof(junk));
    assert_string_equal(out, "relay refused (400 Bad Request): ok x");

    /* a small output buffer truncates safely */
    char tiny[16];
    n = cr_text_refusal(tiny, sizeof(tiny), 404, "Not Found", "whatever", 8);
    assert_int_equal(n, 15);
    assert_int_equal(strlen(tiny), 15);
    assert_int_equal(cr_text_refusal(tiny, 0, 404, NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain),
        cmocka_unit_test(json),
        cmocka_unit_test(caps_and_truncation),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
