/*
 * The benchmark tools' parsers of text from outside: URLs, HTTP responses, the relay's status JSON and
 * /proc files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr_bench_http.h"
#include "cr_bench_proc.h"
#include "cr_err.h"

static void test_url(void **state)
{
    (void)state;
    cr_bench_url_t u;
    assert_int_equal(cr_bench_url_parse("http://127.0.0.1:18080/whep/grade3-math", &u), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 18080);
    assert_string_equal(u.path, "/whep/grade3-math");
    assert_int_equal(cr_bench_url_parse("HTTP://localhost", &u), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(cr_bench_url_parse("http://h:8080", &u), 0);
    assert_string_equal(u.path, "/");
    assert_int_equal(cr_bench_url_parse("https://h/x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http:///x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http://h:/x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http://h:0/x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http://h:65536/x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http://h:99999999999999999999/x", &u), CR_EINVAL);
    assert_int_equal(cr_bench_url_parse("http://h:80x/x", &u), CR_EINVAL);

    char *long_host = malloc(400);
    memcpy(long_host, "http://", 7);
    memset(long_host + 7, 'a', 300);
    long_host[307] = '\0';
    assert_int_equal(cr_bench_url_parse(long_host, &u), CR_ETOOBIG);
    free(long_host);
    char *long_path = malloc(2000);
    memcpy(long_path, "http://h/", 9);
    memset(long_path + 9, 'p', 1500);
    long_path[1509] = '\0';
    assert_int_equal(cr_bench_url_parse(long_path, &u), CR_ETOOBIG);
    free(long_path);
}

static const char answer[] = "HTTP/1.1 201 Created\r\n"
                             "content-type: application/sdp\r\n"
                             "Location:   /resource/abc123  \r\n"
                             "Content-Length: 9\r\n"
                             "\r\n"
                             "v=0\r\nx=1\r\n";

static void test_response_complete(void **state)
{
    (void)state;
    cr_bench_http_resp_t r;
    /* The body is longer than Content-Length: only 9 bytes belong to it. */
    assert_int_equal(cr_bench_http_parse(answer, strlen(answer), 0, &r), 1);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.location_len, strlen("/resource/abc123"));
    assert_memory_equal(r.location, "/resource/abc123", r.location_len);
    assert_int_equal(r.content_type_len, strlen("application/sdp"));
    assert_int_equal(r.body_len, 9);
    assert_memory_equal(r.body, "v=0\r\nx=1\r", 9);
}

static void test_response_partial(void **state)
{
    (void)state;
    cr_bench_http_resp_t r;
    size_t full = strlen(answer) - 1; /* head + exactly the 9 body bytes */
    for (size_t len = 0; len < full; len++)
        assert_int_equal(cr_bench_http_parse(answer, len, 0, &r), 0);
    assert_int_equal(cr_bench_http_parse(answer, full, 0, &r), 1);
    /* Closed before the announced body. */
    assert_int_equal(cr_bench_http_parse(answer, full - 1, 1, &r), CR_ETRUNC);
    assert_int_equal(cr_bench_http_parse(answer, 0, 1, &r), CR_ETRUNC);
    assert_int_equal(cr_bench_http_parse(answer, 10, 1, &r), CR_EMALFORMED);
}

static void test_response_until_close(void **state)
{
    (void)state;
    const char *t = "HTTP/1.0 200 OK\nContent-Type: application/json\n\n{\"a\":1}";
    cr_bench_http_resp_t r;
    assert_int_equal(cr_bench_http_parse(t, strlen(t), 0, &r), 0); /* no length: wait for the close */
    assert_int_equal(cr_bench_http_parse(t, strlen(t), 1, &r), 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 7);
    assert_null(r.location);

    const char *nc = "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n\r\n";
    assert_int_equal(cr_bench_http_parse(nc, strlen(nc), 0, &r), 1);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
}

static void test_response_bad(void **state)
{
    (void)state;
    cr_bench_http_resp_t r;
    const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cr_bench_http_parse(bad[i], strlen(bad[i]), 1, &r), CR_EMALFORMED);
    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    assert_int_equal(cr_bench_http_parse(chunked, strlen(chunked), 1, &r), CR_EUNSUPPORTED);
    const char *huge = "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n";
    assert_int_equal(cr_bench_http_parse(huge, strlen(huge), 0, &r), CR_ETOOBIG);

    /* A head that never ends is refused once it passes the cap. */
    size_t n = CR_BENCH_HTTP_MAX_HEAD + 100;
    char *big = malloc(n);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'x', n - 20);
    assert_int_equal(cr_bench_http_parse(big, n, 0, &r), CR_ETOOBIG);
    free(big);
}

static void test_json_sum(void **state)
{
    (void)state;
    const char *j = "{\"classes\":[{\"id\":\"forwarded\",\"live\":true}],\"workers\":[{\"port\":10000,"
                    "\"forwarded\":1200,\"drops\":{\"queue_full\":3}},{\"port\":10001,\"forwarded\" : -200,"
                    "\"note\":\"\\\"forwarded\\\":99\",\"drops\":{\"queue_full\":0}}],\"sessions\":4}";
    int64_t sum = 0;
    assert_int_equal(cr_bench_json_sum(j, strlen(j), "forwarded", &sum), 2);
    assert_int_equal(sum, 1000);
    assert_int_equal(cr_bench_json_sum(j, strlen(j), "queue_full", &sum), 2);
    assert_int_equal(sum, 3);
    assert_int_equal(cr_bench_json_max(j, strlen(j), "forwarded", &sum), 2);
    assert_int_equal(sum, 1200);
    assert_int_equal(cr_bench_json_max(j, strlen(j), "missing", &sum), 0);
    assert_int_equal(sum, 0);
    assert_int_equal(cr_bench_json_sum(j, strlen(j), "live", &sum), 0); /* not an integer */
    assert_int_equal(cr_bench_json_sum(j, strlen(j), "missing", &sum), 0);
    assert_int_equal(sum, 0);
    /* Truncated input never reads past len. */
    for (size_t len = 0; len < strlen(j); len++)
        cr_bench_json_sum(j, len, "forwarded", &sum);
    assert_int_equal(cr_bench_json_sum("\"forwarded\":", 12, "forwarded", &sum), 0);
    assert_int_equal(cr_bench_json_sum("\"forw", 5, "forwarded", &sum), 0);
}

static void test_proc(void **state)
{
    (void)state;
    /* A command name with blanks and parentheses; utime 1500, stime 250 (fields 14, 15). */
    const char *stat = "4242 (classrelay (w) 1) S 1 4242 4242 0 -1 4194304 311 0 0 0 1500 250 0 0 20 0 3 0\n";
    uint64_t v = 0, busy = 0, total = 0;
    assert_int_equal(cr_bench_proc_stat_parse(stat, strlen(stat), &v), 0);
    assert_int_equal(v, 1750);
    assert_int_equal(cr_bench_proc_stat_parse("4242 (x) S 1 2", 14, &v), CR_EMALFORMED);
    assert_int_equal(cr_bench_proc_stat_parse("no paren", 8, &v), CR_EMALFORMED);

    const char *status = "Name:\tclassrelay\nVmPeak:\t  99999 kB\nVmRSS:\t   31696 kB\nThreads:\t3\n";
    assert_int_equal(cr_bench_proc_rss_parse(status, strlen(status), &v), 0);
    assert_int_equal(v, 31696);
    assert_int_equal(cr_bench_proc_rss_parse("Name:\tx\n", 8, &v), CR_ENOTFOUND);
    assert_int_equal(cr_bench_proc_rss_parse("VmRSS:\t kB\n", 11, &v), CR_EMALFORMED);

    const char *pstat = "cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 60 0 30 400 5 0 5 0 0 0\n"
                        "cpu1 40 0 20 600 5 0 0 0 0 0\ncpu10 1 1 1 1 1 1 1 1 0 0\nintr 1\n";
    assert_int_equal(cr_bench_proc_cpu_parse(pstat, strlen(pstat), 1, &busy, &total), 0);
    assert_int_equal(total, 665);
    assert_int_equal(busy, 60);
    assert_int_equal(cr_bench_proc_cpu_parse(pstat, strlen(pstat), 0, &busy, &total), 0);
    assert_int_equal(busy, 95);
    assert_int_equal(cr_bench_proc_cpu_parse(pstat, strlen(pstat), 10, &busy, &total), 0);
    assert_int_equal(total, 8);
    assert_int_equal(cr_bench_proc_cpu_parse(pstat, strlen(pstat), 2, &busy, &total), CR_ENOTFOUND);
    assert_int_equal(cr_bench_proc_cpu_parse("cpu3 1 2\n", 9, 3, &busy, &total), CR_EMALFORMED);

    /* Our own process: the readers work on a live /proc. */
    assert_int_equal(cr_bench_proc_rss_kb(getpid(), &v), 0);
    assert_true(v > 0);
    assert_int_equal(cr_bench_proc_cpu_us(getpid(), &v), 0);
    assert_int_equal(cr_bench_proc_core_us(0, &busy, &total), 0);
    assert_true(total >= busy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_response_complete),
        cmocka_unit_test(test_response_partial),
        cmocka_unit_test(test_response_until_close),
        cmocka_unit_test(test_response_bad),
        cmocka_unit_test(test_json_sum),
        cmocka_unit_test(test_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
